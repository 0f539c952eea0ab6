import { Controller, Get, Inject, NotFoundException, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { AppRequest, renderPage, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { pageTitle } from '../common/view-helpers';
import { Public } from './auth.decorators';
import { OidcFailure, OidcService } from './oidc.service';
import { renderNotAllowed, SignInSessions } from './sign-in-sessions';
import { StaffService } from './staff.service';

/** What each failure tells the person, and its status. */
function failurePage(failure: OidcFailure | { kind: 'no-sign-in-under-way' }): { status: number; message: string; providerSaid?: string } {
  switch (failure.kind) {
    case 'no-sign-in-under-way':
      return {
        status: 400,
        message:
          'Certex could not match this answer from your organisation’s sign-in service to a sign-in started in this browser. ' +
          'The sign-in may have been opened twice, in another browser, or after your session ended.',
      };
    case 'provider-error':
      return {
        status: 400,
        message:
          failure.error === 'access_denied'
            ? 'Your organisation’s sign-in service did not sign you in: the sign-in was cancelled or refused.'
            : 'Your organisation’s sign-in service did not sign you in.',
        providerSaid: [failure.error, failure.description].filter(Boolean).join(': '),
      };
    case 'code-refused':
      return {
        status: 400,
        message:
          'Your organisation’s sign-in service refused to complete this sign-in: its answer had been used already, had expired, or was not made for this browser.',
        providerSaid: failure.error,
      };
    case 'invalid-answer':
      return {
        status: 502,
        message: 'The answer from your organisation’s sign-in service did not pass Certex’s checks, so you were not signed in.',
      };
    case 'unreachable':
      return {
        status: 503,
        message: 'Certex could not reach your organisation’s sign-in service. It may be starting or briefly unavailable.',
      };
  }
}

/**
 * Single sign-on with the organisation's OpenID provider: the sign-in page's button leads to
 * `start`, the provider sends the person back to `callback`. Both are plain top-level GET
 * navigations, so they work without JavaScript; what the callback must match waits in the session.
 */
@Controller('auth/oidc')
export class OidcController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly oidc: OidcService,
    private readonly staffService: StaffService,
    private readonly sessions: SignInSessions,
    private readonly urls: UrlBuilder,
  ) {}

  @Public()
  @Get('start')
  async start(@Req() req: AppRequest, @Res() res: Response, @Query('next') next?: unknown) {
    if (!this.oidc.enabled) throw new NotFoundException();
    const local = this.urls.isLocal(next) ? next : '';
    if (req.session.staffId) return seeOther(res, local || this.urls.to('/certifications'));
    const started = await this.oidc.start(local);
    if (!started) return this.renderFailed(res, { kind: 'unreachable' }, local);
    // A new attempt replaces any earlier one: only the latest callback can succeed.
    req.session.oidcPending = started.pending;
    seeOther(res, started.url);
  }

  @Public()
  @Get('callback')
  async callback(@Req() req: AppRequest, @Res() res: Response, @Query('state') state?: unknown) {
    if (!this.oidc.enabled) throw new NotFoundException();
    // Used once, whatever happens next: a replayed or forged callback finds nothing to match.
    const pending = req.session.oidcPending;
    delete req.session.oidcPending;
    if (!pending || typeof state !== 'string' || state !== pending.state) {
      this.sessions.refused(req, 'oidc', pending ? 'state-mismatch' : 'no-sign-in-under-way');
      return this.renderFailed(res, { kind: 'no-sign-in-under-way' }, pending?.next ?? '');
    }
    const query = req.originalUrl.indexOf('?');
    const outcome = await this.oidc.finish(query < 0 ? '' : req.originalUrl.slice(query), pending);
    if (!outcome.ok) {
      this.sessions.refused(req, 'oidc', outcome.failure.kind, 'error' in outcome.failure ? { provider_error: outcome.failure.error } : {});
      return this.renderFailed(res, outcome.failure, pending.next);
    }
    const { identity } = outcome;
    const result = await this.staffService.signInExternal(identity, this.oidc.groupRoles);
    if (!result.ok) {
      this.sessions.refused(req, 'oidc', result.reason, {
        issuer: identity.issuer,
        subject: identity.subject,
        groups: identity.groups.join(','),
      });
      return renderNotAllowed(res, result.reason, this.config.adminEmail);
    }
    await this.sessions.start(req, result.staffId, 'oidc', { oidcIdToken: outcome.idToken });
    seeOther(res, pending.next || this.urls.to('/certifications'));
  }

  private renderFailed(res: Response, failure: OidcFailure | { kind: 'no-sign-in-under-way' }, next: string) {
    const { status, message, providerSaid } = failurePage(failure);
    renderPage(
      res,
      'auth/sign-in-failed',
      {
        title: pageTitle(['Sign-in failed'], true),
        message,
        providerSaid,
        retryHref: this.urls.withQuery('/auth/oidc/start', { next }),
      },
      status,
    );
  }
}
