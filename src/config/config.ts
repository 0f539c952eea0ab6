import { randomBytes } from 'node:crypto';
import { isPlainAddress } from '../notifications/mail-text';

export type ProcessRole = 'all' | 'web' | 'worker';

export interface AppConfig {
  nodeEnv: string;
  production: boolean;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  port: number;
  basePath: string;
  frameAncestors: string[];
  smtpUrl: string | null;
  sessionSecret: string;
  cookieSecure: boolean;
  processRole: ProcessRole;
  adminUsername: string | null;
  adminPassword: string | null;
  /** The first site administrator's email address, for the exception notices. */
  adminEmail: string | null;
  demoData: boolean;
  logFormat: 'json' | 'text';
  /** Exceptions a bulk action handles per transaction. */
  bulkChunkSize: number;
  /** The address people reach Certex at (scheme, host, port), for links in emails. */
  publicOrigin: string;
  /** Mail from address. */
  mailFrom: string;
  /** At most one new-exceptions notice per certification in this many minutes. */
  adminNoticeIntervalMinutes: number;
  /** At start, how long to wait for PostgreSQL and Redis to become reachable before giving up. */
  serviceWaitSeconds: number;
  // Single sign-on: see singleSignOnSettings below.
  /** Sign-in with an OpenID provider; null when it is not set up. */
  oidc: OidcSettings | null;
  /** Whether staff may sign in with a Certex password (LOCAL_SIGN_IN); false leaves single sign-on alone. */
  localSignIn: boolean;
}

/** A setting that cannot be used; the message names the variable and what is expected. */
export class ConfigError extends Error {}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/certex';
const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, not "${raw}".`);
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string | null, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL such as ${protocols[0]}//host:port, not "${raw}".`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must start with ${protocols.join(' or ')}//, not "${parsed.protocol}//".`);
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const nodeEnv = env.NODE_ENV || 'development';
  const production = nodeEnv === 'production';

  const portRaw = env.PORT ?? '3000';
  if (!/^\d+$/.test(portRaw) || Number(portRaw) > 65535) {
    throw new ConfigError(`PORT must be a whole number from 0 to 65535, not "${portRaw}".`);
  }

  const basePath = (env.BASE_PATH ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !/^(\/[A-Za-z0-9._~-]+)+$/.test(basePath)) {
    throw new ConfigError(`BASE_PATH must be empty or a path such as /intranet/certex (letters, digits, . _ ~ -), not "${env.BASE_PATH}".`);
  }

  const frameAncestors = (env.FRAME_ANCESTORS ?? "'self'").trim().split(/\s+/).filter(Boolean);
  for (const source of frameAncestors) {
    if (!/^('self'|'none'|https?:\/\/[A-Za-z0-9.*-]+(:\d+)?)$/.test(source)) {
      throw new ConfigError(
        `FRAME_ANCESTORS must be a space-separated list of 'self', 'none' or origins such as https://portal.example.org, not "${source}".`,
      );
    }
  }
  if (frameAncestors.length === 0) frameAncestors.push("'self'");

  const role = env.PROCESS_ROLE || 'all';
  if (role !== 'all' && role !== 'web' && role !== 'worker') {
    throw new ConfigError(`PROCESS_ROLE must be all, web or worker, not "${role}".`);
  }

  let sessionSecret = env.SESSION_SECRET ?? '';
  if (sessionSecret === '') {
    if (production) throw new ConfigError('SESSION_SECRET must be set (at least 32 characters) when NODE_ENV=production.');
    sessionSecret = 'certex-development-session-secret-not-for-production';
  } else if (sessionSecret.length < 32) {
    throw new ConfigError('SESSION_SECRET must be at least 32 characters long.');
  }

  const adminUsername = env.ADMIN_USERNAME?.trim() || null;
  const adminPassword = env.ADMIN_PASSWORD || null;
  if (adminPassword !== null && adminPassword.length < 8) {
    throw new ConfigError('ADMIN_PASSWORD must be at least 8 characters long.');
  }

  const adminEmail = env.ADMIN_EMAIL?.trim() || null;
  if (adminEmail !== null && !isPlainAddress(adminEmail)) {
    throw new ConfigError(`ADMIN_EMAIL must be one email address, such as admin@example.org, not "${env.ADMIN_EMAIL}".`);
  }

  const redisPrefix = env.REDIS_PREFIX || 'certex';
  if (!/^[A-Za-z0-9_.-]+$/.test(redisPrefix)) {
    throw new ConfigError(`REDIS_PREFIX may hold only letters, digits, _ . and -, not "${redisPrefix}".`);
  }

  const logFormat = env.LOG_FORMAT || (production ? 'json' : 'text');
  if (logFormat !== 'json' && logFormat !== 'text') {
    throw new ConfigError(`LOG_FORMAT must be json or text, not "${logFormat}".`);
  }

  const chunkRaw = env.BULK_CHUNK_SIZE || '5000';
  if (!/^\d+$/.test(chunkRaw) || Number(chunkRaw) < 1 || Number(chunkRaw) > 50000) {
    throw new ConfigError(`BULK_CHUNK_SIZE must be a whole number from 1 to 50000, not "${chunkRaw}".`);
  }

  const publicUrlRaw = env.PUBLIC_URL || `http://localhost:${portRaw}`;
  let publicOrigin: string;
  try {
    const parsed = new URL(publicUrlRaw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('protocol');
    publicOrigin = parsed.origin;
  } catch {
    throw new ConfigError(
      `PUBLIC_URL must be the address people reach Certex at, such as https://learning.example.org, not "${publicUrlRaw}".`,
    );
  }
  const mailFrom = env.MAIL_FROM || 'Certex <certex@localhost>';
  if (/[\r\n]/.test(mailFrom) || !/@/.test(mailFrom)) {
    throw new ConfigError(`MAIL_FROM must be an address such as "Certex <certex@example.org>", not "${mailFrom}".`);
  }
  const intervalRaw = env.ADMIN_NOTICE_INTERVAL_MINUTES || '60';
  if (!/^\d+$/.test(intervalRaw)) {
    throw new ConfigError(`ADMIN_NOTICE_INTERVAL_MINUTES must be a whole number of minutes, not "${intervalRaw}".`);
  }

  const waitRaw = env.SERVICE_WAIT_SECONDS || '300';
  if (!/^\d+$/.test(waitRaw) || Number(waitRaw) > 86400) {
    throw new ConfigError(`SERVICE_WAIT_SECONDS must be a whole number of seconds from 0 to 86400, not "${waitRaw}".`);
  }

  return {
    nodeEnv,
    production,
    databaseUrl: url(env, 'DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:'])!,
    redisUrl: url(env, 'REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:'])!,
    redisPrefix,
    port: Number(portRaw),
    basePath,
    frameAncestors,
    smtpUrl: url(env, 'SMTP_URL', null, ['smtp:', 'smtps:']),
    sessionSecret,
    cookieSecure: bool(env, 'COOKIE_SECURE', false),
    processRole: role,
    adminUsername: adminUsername ?? (adminPassword ? 'admin' : null),
    adminPassword,
    adminEmail,
    demoData: bool(env, 'DEMO_DATA', !production),
    logFormat,
    bulkChunkSize: Number(chunkRaw),
    publicOrigin,
    mailFrom,
    adminNoticeIntervalMinutes: Number(intervalRaw),
    serviceWaitSeconds: Number(waitRaw),
    ...singleSignOnSettings(env, production),
  };
}

/** A URL safe to print: the password is replaced. */
export function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return raw;
  }
}

export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}

/** Whether the app may be shown inside frames of origins other than its own. */
export function embeddingAllowed(config: AppConfig): boolean {
  return config.frameAncestors.some((source) => source !== "'self'" && source !== "'none'");
}

// ---- Single sign-on (OpenID Connect) and LOCAL_SIGN_IN ------------------------------------------

/** How Certex signs people in through the organisation's OpenID provider. */
export interface OidcSettings {
  /** The provider's issuer URL; its discovery document is read from `/.well-known/openid-configuration` below it. */
  issuerUrl: string;
  clientId: string;
  clientSecret: string;
  /** Members of this group become site administrators; of the viewer group, viewers. At least one is set. */
  adminGroup: string | null;
  viewerGroup: string | null;
  /** The claim (in the ID token or from userinfo) that lists the person's groups. */
  groupsClaim: string;
  /** The scopes asked for: `openid` and those that bring the profile, email and groups claims. */
  scopes: string;
  /** Plain http to the provider: allowed outside production only (a provider on the developer's machine). */
  allowHttp: boolean;
}

const OIDC_VARIABLES = [
  'OIDC_ISSUER_URL',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'OIDC_ADMIN_GROUP',
  'OIDC_VIEWER_GROUP',
  'OIDC_GROUPS_CLAIM',
  'OIDC_SCOPES',
] as const;

function oidcSettings(env: NodeJS.ProcessEnv, production: boolean): OidcSettings | null {
  const value = (name: (typeof OIDC_VARIABLES)[number]) => env[name]?.trim() || null;
  const given = OIDC_VARIABLES.filter((name) => value(name) !== null);
  if (given.length === 0) return null;
  const needs = 'single sign-on needs OIDC_ISSUER_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_ADMIN_GROUP or OIDC_VIEWER_GROUP';
  for (const name of ['OIDC_ISSUER_URL', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET'] as const) {
    if (value(name) === null) throw new ConfigError(`${name} must be set too: ${needs} (set: ${given.join(', ')}).`);
  }
  const adminGroup = value('OIDC_ADMIN_GROUP');
  const viewerGroup = value('OIDC_VIEWER_GROUP');
  if (adminGroup === null && viewerGroup === null) {
    throw new ConfigError(`OIDC_ADMIN_GROUP or OIDC_VIEWER_GROUP must be set: ${needs}; with neither, nobody could sign in.`);
  }
  if (adminGroup !== null && adminGroup === viewerGroup) {
    throw new ConfigError(`OIDC_VIEWER_GROUP must differ from OIDC_ADMIN_GROUP ("${adminGroup}").`);
  }

  const issuerRaw = value('OIDC_ISSUER_URL')!;
  let issuer: URL;
  try {
    issuer = new URL(issuerRaw);
  } catch {
    throw new ConfigError(
      `OIDC_ISSUER_URL must be the provider's issuer URL, such as https://login.example.org/realms/staff, not "${issuerRaw}".`,
    );
  }
  const allowHttp = !production;
  if (issuer.protocol !== 'https:' && !(allowHttp && issuer.protocol === 'http:')) {
    throw new ConfigError(
      `OIDC_ISSUER_URL must start with https://${allowHttp ? ' (or http:// outside production)' : ''}, not "${issuer.protocol}//".`,
    );
  }
  if (issuer.search || issuer.hash || issuer.username || issuer.password) {
    throw new ConfigError(`OIDC_ISSUER_URL must be the issuer URL alone, without a query, fragment or credentials: "${issuerRaw}".`);
  }

  const groupsClaim = value('OIDC_GROUPS_CLAIM') ?? 'groups';
  if (!/^[\x21-\x7e]{1,200}$/.test(groupsClaim)) {
    throw new ConfigError(`OIDC_GROUPS_CLAIM must be a claim name such as groups, without spaces, not "${env.OIDC_GROUPS_CLAIM}".`);
  }
  const scopes = (value('OIDC_SCOPES') ?? 'openid profile email').split(/\s+/);
  if (!scopes.includes('openid') || scopes.some((scope) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(scope))) {
    throw new ConfigError(`OIDC_SCOPES must be scopes separated by spaces, openid among them, not "${env.OIDC_SCOPES}".`);
  }
  if (!env.PUBLIC_URL) {
    throw new ConfigError(
      'PUBLIC_URL must be set with single sign-on: the provider sends people back to PUBLIC_URL + BASE_PATH + /auth/oidc/callback.',
    );
  }
  return {
    issuerUrl: issuerRaw,
    clientId: value('OIDC_CLIENT_ID')!,
    clientSecret: value('OIDC_CLIENT_SECRET')!,
    adminGroup,
    viewerGroup,
    groupsClaim,
    scopes: scopes.join(' '),
    allowHttp,
  };
}

/** OIDC_* and LOCAL_SIGN_IN: password sign-in may be switched off only when another way in remains. */
function singleSignOnSettings(env: NodeJS.ProcessEnv, production: boolean): Pick<AppConfig, 'oidc' | 'localSignIn'> {
  const oidc = oidcSettings(env, production);
  const localSignIn = bool(env, 'LOCAL_SIGN_IN', true);
  if (!localSignIn && oidc === null && !env.AUTH_PROXY_HEADER?.trim()) {
    throw new ConfigError(
      'LOCAL_SIGN_IN=false needs single sign-on (OIDC_ISSUER_URL and the other OIDC_ settings) or AUTH_PROXY_HEADER: otherwise nobody could sign in.',
    );
  }
  return { oidc, localSignIn };
}
