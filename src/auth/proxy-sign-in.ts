import { Inject, Injectable, Logger } from '@nestjs/common';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import type { BlockList } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import type { AppRequest } from '../common/http';
import { clientAddress } from '../common/http';
import { UrlBuilder } from '../common/url';
import { AppConfig, AuthProxyConfig, proxyAddressList } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ExternalIdentity, groupsFrom } from './external-identity';
import { logLine, renderNotAllowed, SignInSessions } from './sign-in-sessions';
import type { SignInMethod } from './staff.entity';
import { StaffService } from './staff.service';

/** The page a person who signed in through the proxy sees after signing out (never signed in again there). */
export const SIGNED_OUT_PATH = '/signed-out';

/** A subject longer than this is not a user name any proxy sends: the header is ignored. */
const MAX_SUBJECT_LENGTH = 512;

/** Where signing out leads: after a proxy sign-in, a page the proxy does not sign the person back in on. */
export function signedOutPath(method: SignInMethod | undefined): string {
  return method === 'proxy' ? SIGNED_OUT_PATH : '/login';
}

/**
 * A header value as the proxy meant it: Node reads header bytes as Latin-1, while proxies pass
 * names from Kerberos or Shibboleth as UTF-8. Bytes that are not UTF-8 stay as they came.
 */
function headerText(value: string): string {
  const utf8 = Buffer.from(value, 'latin1').toString('utf8');
  return (utf8.includes('\ufffd') ? value : utf8).trim();
}

type HeaderRead = { kind: 'absent' } | { kind: 'value'; value: string } | { kind: 'repeated' };

function readHeader(req: Request, name: string | null): HeaderRead {
  if (!name) return { kind: 'absent' };
  const values = req.headersDistinct[name];
  if (!values || values.length === 0) return { kind: 'absent' };
  // Sent twice: a proxy that adds its header to the client's instead of replacing it. Neither is believed.
  if (values.length > 1) return { kind: 'repeated' };
  const value = headerText(values[0]);
  return value ? { kind: 'value', value } : { kind: 'absent' };
}

/**
 * Signs in the person an authenticating reverse proxy names in its header (AUTH_PROXY_HEADER),
 * as Express middleware right after the session middleware, so that it runs before the CSRF
 * check and before the guard would send anyone to sign in.
 *
 * The header is believed only on a connection whose TCP peer (never X-Forwarded-For) is one of
 * AUTH_PROXY_ADDRESSES; from any other peer it is removed from the request, as if never sent,
 * and the request is logged as a warning. A person is matched by issuer `proxy` and the header's
 * value, and their role comes from the groups header at every sign-in, as for single sign-on.
 * A session of the same person with the same groups is kept; another person, or changed groups,
 * signs in again (a new session). In neither group: the 403 page, and any session they had ends.
 */
@Injectable()
export class ProxySignIn {
  private readonly logger = new Logger('SignIn');
  private readonly settings: AuthProxyConfig | null;
  private readonly proxies: BlockList | null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly orm: MikroORM,
    private readonly staffService: StaffService,
    private readonly sessions: SignInSessions,
    private readonly urls: UrlBuilder,
  ) {
    this.settings = config.authProxy;
    this.proxies = config.authProxy ? proxyAddressList(config.authProxy.addresses) : null;
  }

  /** The middleware, or null when no proxy is set up. */
  middleware(): ((req: Request, res: Response, next: NextFunction) => void) | null {
    if (!this.settings) return null;
    const settings = this.settings;
    const signedOut = this.urls.to(SIGNED_OUT_PATH);
    return (req, res, next) => {
      // No session here (the health check) or the signed-out page: nothing to sign in to.
      if (!req.session || req.path === signedOut) return next();
      this.handle(req as AppRequest, res, settings).then((handled) => (handled ? undefined : next()), next);
    };
  }

  /** Whether the connection comes straight from a listed proxy. */
  fromProxy(req: Request): boolean {
    const peer = req.socket.remoteAddress;
    if (!peer || !this.proxies) return false;
    return this.proxies.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
  }

  /** True when the request was answered here (the not-allowed page). */
  private async handle(req: AppRequest, res: Response, settings: AuthProxyConfig): Promise<boolean> {
    const user = readHeader(req, settings.header);
    if (user.kind === 'absent') return false;
    const identityHeaders = [settings.header, settings.groupsHeader, settings.nameHeader, settings.emailHeader].filter(
      (name): name is string => name !== null,
    );

    const peer = req.socket.remoteAddress ?? 'unknown';
    const ignore = (reason: string) => {
      for (const name of identityHeaders) delete req.headers[name];
      this.logger.warn(
        logLine('sign-in:', {
          outcome: 'ignored',
          method: 'proxy',
          reason,
          header: settings.header,
          value: user.kind === 'value' ? user.value.slice(0, 200) : null,
          peer,
          address: clientAddress(req),
        }),
      );
      return false;
    };
    if (!this.fromProxy(req)) return ignore('header-from-unlisted-address');
    const groupsHeader = readHeader(req, settings.groupsHeader);
    const name = readHeader(req, settings.nameHeader);
    const email = readHeader(req, settings.emailHeader);
    if ([user, groupsHeader, name, email].some((read) => read.kind === 'repeated')) return ignore('header-repeated');
    if (user.kind !== 'value') return false;
    if (user.value.length > MAX_SUBJECT_LENGTH) return ignore('header-too-long');

    const subject = user.value;
    const groups = groupsHeader.kind === 'value' ? groupsFrom(groupsHeader.value) : [];
    const groupsKey = [...new Set(groups)].sort().join('\n');
    const session = req.session;
    if (session.staffId && session.signInMethod === 'proxy' && session.proxySubject === subject && session.proxyGroups === groupsKey) {
      return false;
    }

    const identity: ExternalIdentity = {
      method: 'proxy',
      issuer: 'proxy',
      subject,
      preferredUsername: subject,
      name: name.kind === 'value' ? name.value : null,
      email: email.kind === 'value' ? email.value : null,
      groups,
    };
    return RequestContext.create(this.orm.em, async () => {
      const result = await this.staffService.signInExternal(identity, {
        adminGroup: settings.adminGroup,
        viewerGroup: settings.viewerGroup,
      });
      if (result.ok) {
        await this.sessions.start(req, result.staffId, 'proxy', { proxySubject: subject, proxyGroups: groupsKey });
        return false;
      }
      this.sessions.refused(req, 'proxy', result.reason, { subject: subject.slice(0, 200), peer });
      // Signed in before, no longer allowed (left the groups, disabled): that session ends now.
      if (session.staffId) await new Promise<void>((done) => session.destroy(() => done()));
      renderNotAllowed(res, result.reason, this.config.adminEmail);
      return true;
    });
  }
}
