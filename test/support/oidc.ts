import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import request, { Response } from 'supertest';
import { startTestApp, TestApp, TestClient } from './app';

const PROVIDER_SCRIPT = resolve(__dirname, 'oidc-provider.mjs');

export const CLIENT_ID = 'certex';
export const CLIENT_SECRET = 'certex-test-client-secret';
export const ADMIN_GROUP = 'certex-admins';
export const VIEWER_GROUP = 'certex-viewers';

/** A real OpenID provider (test/support/oidc-provider.mjs) in its own process. */
export interface TestProvider {
  issuer: string;
  /** Creates or changes the account with this subject: its claims as the provider will give them. */
  setAccount(sub: string, claims: Record<string, unknown>): Promise<void>;
  /** A browser's cookies at the provider. */
  agent(): ReturnType<typeof request.agent>;
  output(): string;
  stop(): Promise<void>;
}

export interface ProviderOptions {
  /** Where the groups and profile claims travel: in the ID token (default) or only from userinfo. */
  claimsIn?: 'id_token' | 'userinfo';
  groupsClaim?: string;
  /** A fixed port, for a provider that starts after Certex. */
  port?: number;
}

const live = new Set<ChildProcessWithoutNullStreams>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The client registration of a Certex reached at `origin` + `basePath`. */
export function certexClient(origin: string, basePath: string): Record<string, unknown> {
  return {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [`${origin}${basePath}/auth/oidc/callback`],
    post_logout_redirect_uris: [`${origin}${basePath}/login?ended=signed-out`],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

/** Starts the provider and resolves once it says it serves; rejects if it exits first or never says so. */
export async function startTestProvider(clients: Record<string, unknown>[], options: ProviderOptions = {}): Promise<TestProvider> {
  const child = spawn(process.execPath, [PROVIDER_SCRIPT], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      OIDC_TEST_CLIENTS: JSON.stringify(clients),
      OIDC_TEST_CLAIMS_IN: options.claimsIn ?? 'id_token',
      OIDC_TEST_GROUPS_CLAIM: options.groupsClaim ?? 'groups',
      ...(options.port ? { PORT: String(options.port) } : {}),
    },
  });
  live.add(child);
  let output = '';
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((done) =>
    child.on('exit', () => {
      live.delete(child);
      done();
    }),
  );
  const issuer = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the test OpenID provider did not start within 30 s:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const ready = /oidc-provider ready at (\S+)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        done(ready[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`the test OpenID provider exited before it was ready:\n${output}`));
    });
  });
  return {
    issuer,
    async setAccount(sub, claims) {
      const res = await fetch(`${issuer}/_test/accounts/${encodeURIComponent(sub)}`, { method: 'PUT', body: JSON.stringify(claims) });
      if (res.status !== 204) throw new Error(`could not set account ${sub}: ${res.status}`);
    },
    agent: () => request.agent(issuer),
    output: () => output,
    async stop() {
      if (live.has(child)) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Certex with single sign-on through a test provider, listening on a real port that PUBLIC_URL names. */
export interface OidcTestApp extends TestApp {
  provider: TestProvider;
  /** http://127.0.0.1:port: PUBLIC_URL. */
  origin: string;
  /** The listening server, for supertest. */
  listening: Server;
}

/** A port that is free now, for a provider that is to start later on it. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * Starts Certex with OIDC settings for a provider started here. The port is taken first, so that
 * PUBLIC_URL (and with it the redirect URI registered at the provider) names it; the app then
 * answers on it. `provider: null` leaves the provider to the test (with `issuer` given).
 */
export async function startOidcTestApp(
  env: Record<string, string> = {},
  options: ProviderOptions & { issuer?: string; provider?: null; host?: string } = {},
): Promise<OidcTestApp> {
  const listening = createServer();
  await new Promise<void>((done) => listening.listen(0, '127.0.0.1', done));
  // The host people (and the browser) use: 127.0.0.1 unless told, e.g. localhost to share a site with a portal.
  const origin = `http://${options.host ?? '127.0.0.1'}:${(listening.address() as AddressInfo).port}`;
  const basePath = (env.BASE_PATH ?? '').replace(/\/+$/, '');
  const provider = options.provider === null ? null : await startTestProvider([certexClient(origin, basePath)], options);
  const t = await startTestApp({
    PUBLIC_URL: origin,
    OIDC_ISSUER_URL: provider?.issuer ?? options.issuer!,
    OIDC_CLIENT_ID: CLIENT_ID,
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_ADMIN_GROUP: ADMIN_GROUP,
    OIDC_VIEWER_GROUP: VIEWER_GROUP,
    ...(options.groupsClaim ? { OIDC_GROUPS_CLAIM: options.groupsClaim } : {}),
    ...env,
  });
  listening.on('request', t.app.getHttpAdapter().getInstance());
  return {
    ...t,
    provider: provider!,
    origin,
    listening,
    client: () => new TestClient(listening, t.config.basePath),
    async close() {
      await new Promise((done) => listening.close(done));
      await t.close();
      await provider?.stop();
    },
  };
}

export interface SingleSignOn {
  /** Where the provider sent the browser back to Certex (path and query, under BASE_PATH). */
  callback: string;
  /** Certex's answer to that callback. */
  res: Response;
  /** Whether the provider asked who the person is (false: its session still held them). */
  askedWhoItIs: boolean;
}

/**
 * Signs in through the provider as a browser would, following every redirect by hand: Certex's
 * cookies in `certex`, the provider's in `atProvider`. `account` is the provider account's
 * subject, or null to cancel on the provider's sign-in page. `alterCallback` changes the address
 * the provider sends back to, as an attacker might.
 */
export async function singleSignOn(
  t: Pick<OidcTestApp, 'provider' | 'origin'>,
  certex: TestClient,
  account: string | null,
  options: {
    next?: string;
    atProvider?: ReturnType<typeof request.agent>;
    alterCallback?: (callback: string) => string;
  } = {},
): Promise<SingleSignOn> {
  const { provider } = t;
  const start = await certex.agent.get(certex.path('/auth/oidc/start') + (options.next ? `?next=${encodeURIComponent(options.next)}` : ''));
  if (start.status !== 303 || !String(start.headers.location).startsWith(provider.issuer + '/')) {
    throw new Error(`start did not lead to the provider: ${start.status} ${start.headers.location}\n${start.text}`);
  }
  const atProvider = options.atProvider ?? provider.agent();
  let location = new URL(start.headers.location);
  let askedWhoItIs = false;
  for (let steps = 0; location.origin === provider.issuer; steps++) {
    if (steps > 10) throw new Error('too many steps at the provider');
    let res = await atProvider.get(location.pathname + location.search);
    const form = /action="(\/interaction\/[^"]+)\/login"/.exec(res.text ?? '');
    if (res.status === 200 && form) {
      askedWhoItIs = true;
      res =
        account === null
          ? await atProvider.post(`${form[1]}/abort`).type('form').send({})
          : await atProvider.post(`${form[1]}/login`).type('form').send({ account });
    }
    if (![302, 303].includes(res.status)) throw new Error(`unexpected answer at the provider: ${res.status}\n${res.text}`);
    location = new URL(res.headers.location, location);
  }
  if (location.origin !== t.origin) throw new Error(`the provider sent the browser to ${location.href}`);
  const callback = (options.alterCallback ?? ((c: string) => c))(location.pathname + location.search);
  const res = await certex.agent.get(callback);
  return { callback, res, askedWhoItIs };
}
