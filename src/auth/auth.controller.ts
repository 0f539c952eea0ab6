import { Body, Controller, Get, Inject, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AppRequest, clientAddress, renderPage, seeOther } from '../common/http';
import { errorMap, FieldError, fieldError, validateForm } from '../common/forms';
import { pageTitle } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { Public, ViewerMayPost } from './auth.decorators';
import { SignInForm } from './staff.dto';
import { SignInSessions } from './sign-in-sessions';
import { signedOutPath } from './proxy-sign-in';
import { StaffService } from './staff.service';
import { FAILURE_WINDOW_MINUTES } from './session-policy';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { OidcService } from './oidc.service';

const LOCAL_SIGN_IN_OFF = 'Signing in with a Certex password is switched off. Sign in with single sign-on instead.';

@Controller()
export class AuthController {
  constructor(
    private readonly staffService: StaffService,
    private readonly sessions: SignInSessions,
    private readonly urls: UrlBuilder,
    private readonly oidc: OidcService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Public()
  @Get()
  home(@Res() res: Response) {
    seeOther(res, this.urls.to('/certifications'));
  }

  @Public()
  @Get('login')
  loginPage(@Req() req: AppRequest, @Res() res: Response, @Query('next') next?: string, @Query('ended') ended?: string) {
    if (req.session?.staffId) return seeOther(res, this.safeNext(next));
    const notice =
      ended === 'timeout' ? 'Your session ended. Sign in again to continue.' : ended === 'signed-out' ? 'You have signed out.' : undefined;
    this.renderLogin(res, { next: this.urls.isLocal(next) ? next : '', notice });
  }

  @Public()
  @Post('login')
  async login(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const next = this.urls.isLocal(body.next) ? body.next : '';
    if (!this.config.localSignIn) {
      // Refused before anything is checked or counted: no password is tried while sign-in with one is off.
      this.sessions.refused(req, 'password', 'local-sign-in-off');
      return this.renderLogin(res, { next, notice: LOCAL_SIGN_IN_OFF }, 403);
    }
    const form = validateForm(SignInForm, body);
    if (!form.ok) {
      return this.renderLogin(res, { next, username: form.values.username, errors: form.errors }, 400);
    }
    const result = await this.staffService.signIn(form.value.username, form.value.password, clientAddress(req));
    if (!result.ok) {
      this.sessions.refused(req, 'password', result.throttled ? 'throttled' : 'wrong-username-or-password', {
        username: form.value.username,
      });
      const message = result.throttled
        ? `Too many failed sign-in attempts from this address. Wait ${FAILURE_WINDOW_MINUTES} minutes and try again, or ask a site administrator to clear them.`
        : 'Enter a correct username and password';
      return this.renderLogin(
        res,
        { next, username: form.value.username, errors: [fieldError('username', message)] },
        result.throttled ? 429 : 401,
      );
    }
    await this.sessions.start(req, result.staff.id, 'password');
    seeOther(res, this.safeNext(next));
  }

  @ViewerMayPost()
  @Post('logout')
  async logout(@Req() req: AppRequest, @Res() res: Response) {
    const method = req.session.signInMethod;
    // After single sign-on the provider's session ends too, or the next sign-in would pass unasked.
    const providerSignOut = method === 'oidc' ? await this.oidc.endSessionUrl(req.session.oidcIdToken) : null;
    await new Promise<void>((done) => req.session.destroy(() => done()));
    res.clearCookie('certex.sid', { path: this.urls.basePath || '/' });
    seeOther(res, providerSignOut ?? this.urls.to(signedOutPath(method)));
  }

  private safeNext(next: unknown): string {
    return this.urls.isLocal(next) ? next : this.urls.to('/certifications');
  }

  private renderLogin(res: Response, model: Record<string, unknown>, status = 200) {
    const errors = (model.errors as FieldError[] | undefined) ?? [];
    const sso = this.oidc.enabled;
    const ssoHref = sso ? this.urls.withQuery('/auth/oidc/start', { next: model.next as string | undefined }) : null;
    renderPage(
      res,
      'auth/login',
      {
        title: pageTitle(['Sign in'], errors.length > 0),
        ...model,
        sso,
        ssoHref,
        localSignIn: this.config.localSignIn,
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
