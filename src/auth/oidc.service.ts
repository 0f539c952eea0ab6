import { Inject, Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig, OidcSettings } from '../config/config';
import { UrlBuilder } from '../common/url';
import { ExternalIdentity, GroupRoles, groupsFrom } from './external-identity';

/** What the callback must match, kept in the session between the start and the callback. */
export interface OidcPending {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Where to go once signed in: a local path, or '' for the default. */
  next: string;
}

/** Why a single sign-on did not end with a known person; each has its own page. */
export type OidcFailure =
  /** The provider could not be reached or did not answer as an OpenID provider. */
  | { kind: 'unreachable' }
  /** The provider sent the person back with an error (they cancelled, or it refused them). */
  | { kind: 'provider-error'; error: string; description: string | null }
  /** The provider would not exchange the code (used already, expired, or not for this sign-in). */
  | { kind: 'code-refused'; error: string }
  /** The provider's answer did not pass the checks (signature, nonce, issuer, audience, subject). */
  | { kind: 'invalid-answer' };

export type OidcOutcome = { ok: true; identity: ExternalIdentity; idToken: string } | { ok: false; failure: OidcFailure };

type Claims = Record<string, unknown>;

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() ? value.trim() : null);

/** The person as the provider describes them, from the ID token's claims and, where those lack some, userinfo's. */
export function identityFromClaims(claims: Claims, groupsClaim: string): ExternalIdentity {
  const given = [text(claims.given_name), text(claims.family_name)].filter(Boolean).join(' ');
  return {
    method: 'oidc',
    issuer: String(claims.iss),
    subject: String(claims.sub),
    preferredUsername: text(claims.preferred_username),
    name: text(claims.name) ?? (given || null),
    email: text(claims.email),
    groups: groupsFrom(claims[groupsClaim]),
  };
}

/**
 * Single sign-on with the organisation's OpenID provider through openid-client: the authorization
 * code flow with state, nonce and PKCE (S256), and sign-out at the provider. The provider's
 * configuration is discovered on first use and kept; a failed discovery is tried again on the next
 * sign-in, so Certex may start before the provider does.
 */
@Injectable()
export class OidcService {
  private readonly logger = new Logger('Oidc');
  private discovered: Promise<client.Configuration> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly urls: UrlBuilder,
  ) {}

  get enabled(): boolean {
    return this.config.oidc !== null;
  }

  get groupRoles(): GroupRoles {
    return { adminGroup: this.settings.adminGroup, viewerGroup: this.settings.viewerGroup };
  }

  /** The address registered at the provider, where it sends people back. */
  get redirectUri(): string {
    return this.urls.absolute('/auth/oidc/callback');
  }

  /** Where the provider sends people after signing them out; the sign-in page says they did. */
  get postLogoutRedirectUri(): string {
    return this.urls.absolute('/login') + '?ended=signed-out';
  }

  private get settings(): OidcSettings {
    if (!this.config.oidc) throw new Error('Single sign-on is not set up');
    return this.config.oidc;
  }

  private configuration(): Promise<client.Configuration> {
    if (this.discovered) return this.discovered;
    const settings = this.settings;
    const attempt = client.discovery(
      new URL(settings.issuerUrl),
      settings.clientId,
      undefined,
      client.ClientSecretBasic(settings.clientSecret),
      { timeout: 10, execute: settings.allowHttp && settings.issuerUrl.startsWith('http:') ? [client.allowInsecureRequests] : [] },
    );
    this.discovered = attempt;
    attempt.catch((error: unknown) => {
      if (this.discovered === attempt) this.discovered = null;
      this.logger.warn(`OpenID provider ${settings.issuerUrl} could not be discovered (tried again at the next sign-in): ${String(error)}`);
    });
    return attempt;
  }

  /** The provider's sign-in address for a new attempt, and what its callback must match; null when the provider is out of reach. */
  async start(next: string): Promise<{ url: string; pending: OidcPending } | null> {
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch {
      return null;
    }
    const pending: OidcPending = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      next,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.redirectUri,
      scope: this.settings.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, pending };
  }

  /**
   * Completes a sign-in from the callback's query string: the code exchanged (with the PKCE
   * verifier), the ID token checked (signature, issuer, audience, nonce), and the claims the ID
   * token lacks taken from userinfo.
   */
  async finish(search: string, pending: OidcPending): Promise<OidcOutcome> {
    let config: client.Configuration;
    try {
      config = await this.configuration();
    } catch {
      return { ok: false, failure: { kind: 'unreachable' } };
    }
    try {
      const tokens = await client.authorizationCodeGrant(config, new URL(this.redirectUri + search), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims()!;
      let claims: Claims = { ...idClaims };
      const wanted = ['name', 'email', 'preferred_username', this.settings.groupsClaim];
      if (wanted.some((name) => claims[name] === undefined) && config.serverMetadata().userinfo_endpoint) {
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...userinfo, ...idClaims };
      }
      return { ok: true, identity: identityFromClaims(claims, this.settings.groupsClaim), idToken: tokens.id_token! };
    } catch (error) {
      return { ok: false, failure: this.failure(error) };
    }
  }

  private failure(error: unknown): OidcFailure {
    if (error instanceof client.AuthorizationResponseError) {
      return { kind: 'provider-error', error: error.error, description: error.error_description ?? null };
    }
    if (error instanceof client.ResponseBodyError) {
      this.logger.warn(`OpenID provider refused the code: ${error.error} ${error.error_description ?? ''}`.trim());
      return { kind: 'code-refused', error: error.error };
    }
    if (error instanceof TypeError || (error instanceof Error && error.name === 'TimeoutError')) {
      this.logger.warn(`OpenID provider out of reach: ${String(error)}`);
      return { kind: 'unreachable' };
    }
    this.logger.warn(`OpenID provider's answer refused: ${String(error)}`);
    return { kind: 'invalid-answer' };
  }

  /**
   * The provider's end-session address for a single sign-on session, with the ID token as the
   * hint and the sign-in page to come back to; null when the provider has none (or is out of reach).
   */
  async endSessionUrl(idToken: string | undefined): Promise<string | null> {
    if (!this.enabled) return null;
    try {
      const config = await this.configuration();
      if (!config.serverMetadata().end_session_endpoint) return null;
      const parameters: Record<string, string> = { post_logout_redirect_uri: this.postLogoutRedirectUri };
      if (idToken) parameters.id_token_hint = idToken;
      return client.buildEndSessionUrl(config, parameters).href;
    } catch {
      return null;
    }
  }
}
