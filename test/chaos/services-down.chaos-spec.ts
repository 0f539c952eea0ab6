import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertexProcess, startCertex } from '../support/processes';
import { TEST_SERVER_URL, templateName, withServer } from '../support/databases';
import { freePort, tcpProxy, TcpProxy } from '../support/tcp-proxy';
import { signInOverHttp } from '../support/http-sign-in';

/**
 * PostgreSQL and Redis down when Certex starts, and PostgreSQL lost while it serves. Each service
 * is reached through a TCP forwarder the test takes down and brings back (the shared servers keep
 * running for the other test files); Certex runs as the start command runs it.
 */
const runId = process.env.CERTEX_TEST_RUN!;
const ADMIN = { username: 'boss', password: 'boss password 123' };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function get(url: string, cookie = '') {
  const res = await fetch(url, { headers: { cookie, accept: 'text/html' }, redirect: 'manual', signal: AbortSignal.timeout(30000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('services down', () => {
  const proxies: TcpProxy[] = [];
  const processes: CertexProcess[] = [];
  afterAll(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    for (const proxy of proxies) await proxy.down();
  });

  async function proxyTo(port: number) {
    const proxy = await tcpProxy(port);
    proxies.push(proxy);
    return proxy;
  }

  function start(env: Record<string, string>) {
    const child = startCertex(
      {
        ...env,
        REDIS_PREFIX: `certex-t-${runId}-${randomBytes(3).toString('hex')}`,
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
      },
      90000,
    );
    processes.push(child);
    return child;
  }

  it('started while PostgreSQL is down: says so, answers 503, serves once it is back; a lost database later gives 503 pages that recover by themselves', async () => {
    const postgres = await proxyTo(new URL(TEST_SERVER_URL).port ? Number(new URL(TEST_SERVER_URL).port) : 5432);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const certex = start({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${postgres.port}/certex_t_${runId}_pgdown`,
      PORT: String(port),
      SERVICE_WAIT_SECONDS: '120',
    });

    await until('the waiting message', () => Promise.resolve(certex.output().includes('Waiting for it') ? true : undefined));
    const lines = certex
      .output()
      .split('\n')
      .filter((l) => l.includes('Cannot reach'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `certex: Cannot reach PostgreSQL at postgres://postgres@127.0.0.1:${postgres.port}/certex_t_${runId}_pgdown (ECONNREFUSED).`,
    );
    expect(lines[0]).toContain('trying again every 2 s for up to 120 s (SERVICE_WAIT_SECONDS)');

    const waiting = await until('the waiting page', async () => await get(`${base}/certifications`));
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get('retry-after')).toBe('10');
    expect(waiting.text).toContain('<h1>Certex is starting</h1>');
    expect(waiting.text).toContain('It cannot reach its database yet.');
    const health = await get(`${base}/health`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.text)).toEqual({ status: 'starting', waitingFor: 'PostgreSQL' });
    // A path that is not ours never becomes the "Try again" link.
    expect((await get(`${base}//evil.example/x`)).text).toContain('href="/"');

    await postgres.up();
    await certex.ready;
    expect(certex.alive).toBe(true);
    expect((await get(`${base}/health`)).status).toBe(200);
    const cookie = await signInOverHttp(base, ADMIN.username, ADMIN.password);
    expect((await get(`${base}/certifications`, cookie)).status).toBe(200);

    // PostgreSQL lost while serving: a clear 503 page within seconds, not a hang and not a crash.
    await postgres.down();
    const started = Date.now();
    const lost = await get(`${base}/certifications`, cookie);
    expect(Date.now() - started).toBeLessThan(20000);
    expect(lost.status).toBe(503);
    expect(lost.text).toContain('Certex is briefly unavailable');
    expect(lost.text).toContain('Try again in a minute.');
    expect(lost.text).not.toMatch(/ECONNREFUSED|knex|at .*\.js/);
    const lostHealth = await get(`${base}/health`);
    expect(lostHealth.status).toBe(503);
    expect(JSON.parse(lostHealth.text)).toMatchObject({ postgres: 'down', redis: 'up' });

    // Back: the same process serves the same session again, without a restart.
    await postgres.up();
    const back = await until('pages to recover', async () => {
      const page = await get(`${base}/certifications`, cookie);
      return page.status === 200 ? page : undefined;
    });
    expect(back.text).toContain('Certifications');
    expect((await get(`${base}/health`)).status).toBe(200);
    expect(certex.alive).toBe(true);
  });

  it('started while Redis is down: says so, answers 503, serves once it is back', async () => {
    const redis = await proxyTo(6379);
    const name = `certex_t_${runId}_redisdown`;
    await withServer((client) => client.query(`create database "${name}" template "${templateName(runId)}"`));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const certex = start({
      DATABASE_URL: `${TEST_SERVER_URL}/${name}`,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      PORT: String(port),
      SERVICE_WAIT_SECONDS: '120',
    });

    await until('the waiting message', () => Promise.resolve(certex.output().includes('Waiting for it') ? true : undefined));
    expect(certex.output()).toContain(`certex: Cannot reach Redis at redis://127.0.0.1:${redis.port} (ECONNREFUSED).`);
    const waiting = await until('the waiting page', async () => await get(`${base}/login`));
    expect(waiting.status).toBe(503);
    expect(waiting.text).toContain('It cannot reach its job queue (Redis) yet.');

    await redis.up();
    await certex.ready;
    const cookie = await signInOverHttp(base, ADMIN.username, ADMIN.password);
    expect((await get(`${base}/certifications`, cookie)).status).toBe(200);
    expect((await get(`${base}/health`)).status).toBe(200);
  });

  it('gives up after SERVICE_WAIT_SECONDS with the same clear line and exit code 3', async () => {
    const certex = start({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/certex',
      PORT: String(await freePort()),
      SERVICE_WAIT_SECONDS: '3',
    });
    const exit = await certex.exited;
    expect(exit.code).toBe(3);
    const lines = certex.output().trim().split('\n');
    expect(lines[0]).toContain('Waiting for it');
    expect(lines[lines.length - 1]).toMatch(
      /^certex: Cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/certex \(ECONNREFUSED\)\. Start PostgreSQL/,
    );
  });
});
