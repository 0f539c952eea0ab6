import { createServer } from 'node:net';
import { startTestApp, TEST_PASSWORD } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { signInOverHttp } from '../support/http-sign-in';
import { CertexProcess, startCertex } from '../support/processes';
import { checkPage, idle, LoadResult, runAutocannon } from './load-tools';
import type { BenchContext } from './run';

/**
 * `npm run bench -- processes [seconds=20] [connections=20]`: Certex as it runs on more than one
 * machine, here on one: web processes (PROCESS_ROLE=web, NODE_ENV=production, started as the start
 * command does) and one worker (PROCESS_ROLE=worker) on the same PostgreSQL and Redis, one
 * certification of 100,000 open exceptions. The Exception report (first page and ?page=last) is
 * driven at [connections] through one web process and through two (the connections split between
 * them) in turns, so that a change in the machine's speed falls on both alike. A session made on
 * one process is used on both, and the worker's health endpoint is read at the end.
 */
const WARM_UP_SECONDS = 10;
const TURNS = 4;
const SESSION_SECRET = 'certex-processes-benchmark-session-secret';

export default async function processesBench(ctx: BenchContext) {
  const seconds = Number(ctx.args[0] ?? 20);
  const connections = Number(ctx.args[1] ?? 20);
  const t = await startTestApp();
  const started: CertexProcess[] = [];
  try {
    const { certificationId } = await createExceptionFixture(t.db, {
      prefix: 'PR',
      shortName: 'Processes',
      counts: { time_allowance: 100000 },
    });
    await t.db.query('vacuum (analyze) learner, membership, membership_source, exception');
    await t.createStaff('processes-admin', 'admin');

    const shared = {
      DATABASE_URL: t.config.databaseUrl,
      REDIS_URL: t.config.redisUrl,
      REDIS_PREFIX: t.config.redisPrefix,
      NODE_ENV: 'production',
      SESSION_SECRET,
    };
    const startWeb = async () => {
      const port = await freePort();
      const web = startCertex({ ...shared, PROCESS_ROLE: 'web', PORT: String(port) });
      started.push(web);
      await web.ready;
      return `http://127.0.0.1:${port}`;
    };
    const healthPort = await freePort();
    const worker = startCertex({ ...shared, PROCESS_ROLE: 'worker', WORKER_HEALTH_PORT: String(healthPort) });
    started.push(worker);
    const first = await startWeb();
    await worker.ready;

    const cookie = await signInOverHttp(first + t.config.basePath, 'processes-admin', TEST_PASSWORD);
    const paths = [`/certifications/${certificationId}/exceptions`, `/certifications/${certificationId}/exceptions?page=last`].map(
      (path) => t.config.basePath + path,
    );
    for (const path of paths) await checkPage(first + path, cookie, 'Exception report on the first web process');

    const second = await startWeb();
    for (const path of paths) await checkPage(second + path, cookie, 'Exception report on the second web process, same session');

    ctx.figure(
      'load',
      `Exception report, ${connections} connections, ${seconds} s each way in ${TURNS} turns, first page and ?page=last, after ${WARM_UP_SECONDS} s warm-up`,
    );
    const one: LoadResult[] = [];
    const two: LoadResult[] = [];
    await drive([first], paths, cookie, connections, WARM_UP_SECONDS);
    await drive([first, second], paths, cookie, connections, WARM_UP_SECONDS);
    await idle(t.db);
    for (let turn = 0; turn < TURNS; turn++) {
      one.push(...(await drive([first], paths, cookie, connections, seconds / TURNS)));
      await idle(t.db);
      two.push(...(await drive([first, second], paths, cookie, connections, seconds / TURNS)));
      await idle(t.db);
    }
    ctx.figure('one web process', describe(one, TURNS));
    ctx.figure('two web processes (connections split between them)', describe(two, TURNS));
    ctx.figure('requests/s two processes / one', rate(two, TURNS) / rate(one, TURNS));

    const health = await fetch(`http://127.0.0.1:${healthPort}${t.config.basePath}/health`);
    ctx.figure('worker /health', `${health.status} ${JSON.stringify(await health.json())}`);
  } finally {
    await Promise.all(started.map((p) => p.kill('SIGTERM')));
    await t.close();
  }
}

/** Drives every origin at once with an equal share of the connections. */
function drive(origins: string[], paths: string[], cookie: string, connections: number, seconds: number) {
  const share = Math.max(1, Math.round(connections / origins.length));
  return Promise.all(origins.map((url) => runAutocannon({ url, paths, cookies: [cookie], connections: share, seconds })));
}

/** Requests a second over every process and turn: each turn's processes ran side by side. */
function rate(results: LoadResult[], turns: number): number {
  return results.reduce((sum, r) => sum + r.requests / r.durationS, 0) / turns;
}

function describe(results: LoadResult[], turns: number): string {
  const errors = results.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0);
  const p99 = Math.max(...results.map((r) => r.p99));
  return `${rate(results, turns).toFixed(0)} req/s, p99 ${p99.toFixed(1)} ms (slowest process and turn), ${errors} errors`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
