import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { isPlainAddress } from '../notifications/mail-text';
import { canonicalTimeZone } from '../common/time-zone';

export type ProcessRole = 'all' | 'web' | 'worker';

export interface AppConfig {
  nodeEnv: string;
  production: boolean;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  port: number;
  /** Where a PROCESS_ROLE=worker process answers GET /health about its queues and schedules. */
  workerHealthPort: number;
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
  /** Learners a membership sync handles per transaction. */
  syncChunkSize: number;
  /** The address people reach Certex at (scheme, host, port), for links in emails. */
  publicOrigin: string;
  /** Mail from address. */
  mailFrom: string;
  /** At most one new-exceptions notice per certification in this many minutes. */
  adminNoticeIntervalMinutes: number;
  /** At start, how long to wait for PostgreSQL and Redis to become reachable before giving up. */
  serviceWaitSeconds: number;
  /** Sign-in by an authenticating reverse proxy's header (AUTH_PROXY_*); null when not used. */
  authProxy: AuthProxyConfig | null;
  /**
   * The site's IANA time zone: dates typed as dates are days of this zone, learners' and
   * administrators' emails show it, and so does every page for a person who chose no zone of their own.
   */
  siteTimeZone: string;
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

function portSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name] ?? String(fallback);
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError(`${name} must be a whole number from 0 to 65535, not "${raw}".`);
  return Number(raw);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const nodeEnv = env.NODE_ENV || 'development';
  const production = nodeEnv === 'production';

  const port = portSetting(env, 'PORT', 3000);
  const workerHealthPort = portSetting(env, 'WORKER_HEALTH_PORT', 3001);

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
  const syncChunkRaw = env.SYNC_CHUNK_SIZE || '50000';
  if (!/^\d+$/.test(syncChunkRaw) || Number(syncChunkRaw) < 1 || Number(syncChunkRaw) > 1000000) {
    throw new ConfigError(`SYNC_CHUNK_SIZE must be a whole number from 1 to 1000000, not "${syncChunkRaw}".`);
  }

  const publicUrlRaw = env.PUBLIC_URL || `http://localhost:${port}`;
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

  const zoneRaw = env.SITE_TIMEZONE?.trim() || 'UTC';
  const siteTimeZone = canonicalTimeZone(zoneRaw);
  if (siteTimeZone === null) {
    throw new ConfigError(`SITE_TIMEZONE must be an IANA time zone name such as Europe/London or UTC, not "${zoneRaw}".`);
  }

  return {
    nodeEnv,
    production,
    databaseUrl: url(env, 'DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:'])!,
    redisUrl: url(env, 'REDIS_URL', DEFAULT_REDIS_URL, ['redis:', 'rediss:'])!,
    redisPrefix,
    port,
    workerHealthPort,
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
    syncChunkSize: Number(syncChunkRaw),
    publicOrigin,
    mailFrom,
    adminNoticeIntervalMinutes: Number(intervalRaw),
    serviceWaitSeconds: Number(waitRaw),
    authProxy: authProxyConfig(env),
    siteTimeZone,
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

// ---------------------------------------------------------------------------------------------
// Authenticating reverse proxy (AUTH_PROXY_*): a proxy in front of Certex that has already signed
// the person in (Kerberos, Shibboleth, a gateway) names them in a header. Certex believes that
// header only on connections from the listed addresses.

/** One entry of AUTH_PROXY_ADDRESSES: an address (prefix 32 or 128) or a CIDR range. */
export interface ProxyAddress {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export interface AuthProxyConfig {
  /** Header names, in lower case as Node gives them. */
  header: string;
  groupsHeader: string;
  nameHeader: string | null;
  emailHeader: string | null;
  /** The TCP peers whose headers are believed. */
  addresses: ProxyAddress[];
  /** Group names that make a site administrator and a viewer (AUTH_PROXY_*_GROUP, else OIDC_*_GROUP). */
  adminGroup: string | null;
  viewerGroup: string | null;
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

function headerName(env: NodeJS.ProcessEnv, name: string): string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  if (!HEADER_NAME.test(raw)) throw new ConfigError(`${name} must be an HTTP header name such as X-Remote-User, not "${env[name]}".`);
  return raw.toLowerCase();
}

/** `10.1.2.3`, `10.1.0.0/16`, `::1`, `fd00::/8`: checked by Node's own address parser. */
export function parseProxyAddresses(raw: string, name = 'AUTH_PROXY_ADDRESSES'): ProxyAddress[] {
  const entries = raw
    .split(/[\s,]+/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new ConfigError(`${name} must list the proxy's addresses or ranges, such as 10.0.0.5, 10.0.1.0/24 or fd00::/64.`);
  }
  return entries.map((entry) => {
    const [address, prefixRaw, ...rest] = entry.split('/');
    const version = isIP(address);
    if (version === 0 || rest.length > 0 || (prefixRaw !== undefined && !/^\d{1,3}$/.test(prefixRaw))) {
      throw new ConfigError(`${name} must hold IPv4 or IPv6 addresses or CIDR ranges such as 10.0.1.0/24, not "${entry}".`);
    }
    const family = version === 4 ? 'ipv4' : 'ipv6';
    const prefix = prefixRaw === undefined ? (version === 4 ? 32 : 128) : Number(prefixRaw);
    if (prefix === 0) throw new ConfigError(`${name} must not hold "${entry}": it would believe the header from every address.`);
    try {
      new BlockList().addSubnet(address, prefix, family);
    } catch {
      throw new ConfigError(`${name} has a range whose prefix is too long for its address: "${entry}".`);
    }
    return { address, prefix, family };
  });
}

/** The listed proxies as a Node BlockList, to check a connection's peer address against. */
export function proxyAddressList(addresses: readonly ProxyAddress[]): BlockList {
  const list = new BlockList();
  for (const { address, prefix, family } of addresses) list.addSubnet(address, prefix, family);
  return list;
}

function authProxyConfig(env: NodeJS.ProcessEnv): AuthProxyConfig | null {
  const header = headerName(env, 'AUTH_PROXY_HEADER');
  if (!header) {
    const stray = ['AUTH_PROXY_ADDRESSES', 'AUTH_PROXY_GROUPS_HEADER', 'AUTH_PROXY_NAME_HEADER', 'AUTH_PROXY_EMAIL_HEADER'].find((name) =>
      env[name]?.trim(),
    );
    if (stray) throw new ConfigError(`${stray} is set but AUTH_PROXY_HEADER is not: set the header the proxy names the person in.`);
    return null;
  }
  const addressesRaw = env.AUTH_PROXY_ADDRESSES?.trim();
  if (!addressesRaw) {
    throw new ConfigError(
      'AUTH_PROXY_ADDRESSES must be set with AUTH_PROXY_HEADER: the addresses or ranges of the proxy whose header Certex believes.',
    );
  }
  const groupsHeader = headerName(env, 'AUTH_PROXY_GROUPS_HEADER');
  if (!groupsHeader) {
    throw new ConfigError('AUTH_PROXY_GROUPS_HEADER must be set with AUTH_PROXY_HEADER: roles come from the groups the proxy sends.');
  }
  const group = (name: string) => env[name]?.trim() || null;
  const adminGroup = group('AUTH_PROXY_ADMIN_GROUP') ?? group('OIDC_ADMIN_GROUP');
  const viewerGroup = group('AUTH_PROXY_VIEWER_GROUP') ?? group('OIDC_VIEWER_GROUP');
  if (!adminGroup && !viewerGroup) {
    throw new ConfigError(
      'AUTH_PROXY_ADMIN_GROUP or AUTH_PROXY_VIEWER_GROUP must be set with AUTH_PROXY_HEADER (or OIDC_ADMIN_GROUP, OIDC_VIEWER_GROUP): nobody could sign in.',
    );
  }
  const nameHeader = headerName(env, 'AUTH_PROXY_NAME_HEADER');
  const emailHeader = headerName(env, 'AUTH_PROXY_EMAIL_HEADER');
  for (const [name, value] of [
    ['AUTH_PROXY_GROUPS_HEADER', groupsHeader],
    ['AUTH_PROXY_NAME_HEADER', nameHeader],
    ['AUTH_PROXY_EMAIL_HEADER', emailHeader],
  ] as const) {
    if (value && value === header) throw new ConfigError(`${name} must name another header than AUTH_PROXY_HEADER.`);
  }
  return {
    header,
    groupsHeader,
    nameHeader,
    emailHeader,
    addresses: parseProxyAddresses(addressesRaw),
    adminGroup,
    viewerGroup,
  };
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
