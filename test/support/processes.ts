import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import type { AppConfig } from '../../src/config/config';

const ROOT = resolve(__dirname, '../..');

/**
 * The arguments that start `src/main.ts` from the project's directory, as the start command does
 * after building: TypeScript compiled file by file with the project's tsconfig, results kept
 * between processes (test/support/transpile-cache.cjs).
 */
export const MAIN_ARGS = ['-r', resolve(__dirname, 'transpile-cache.cjs'), 'src/main.ts'];

/** A Certex process started as the start command does (`src/main.ts`), for tests that stop or kill it. */
export interface CertexProcess {
  readonly pid: number;
  /** The PostgreSQL application_name of its connections (PGAPPNAME), to find them in pg_stat_activity. */
  readonly appName: string;
  /** Resolves once it has said "Worker started" or "Certex is serving at"; rejects if it exits or takes too long first. */
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly alive: boolean;
  /** Everything it printed, for failure messages. */
  output(): string;
  /** Sends the signal and resolves when the process has gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcessWithoutNullStreams>();
// A test run that ends without its afterAll (crash, timeout) must not leave workers behind.
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

let started = 0;

/**
 * Starts a worker-only process (PROCESS_ROLE=worker) on the same database, Redis and queue prefix
 * as a test app, so that it takes the jobs the test app queues.
 */
export function startWorker(config: AppConfig, env: Record<string, string> = {}, readyTimeoutMs = 45_000): CertexProcess {
  return startCertex(
    {
      PROCESS_ROLE: 'worker',
      DATABASE_URL: config.databaseUrl,
      REDIS_URL: config.redisUrl,
      REDIS_PREFIX: config.redisPrefix,
      ...env,
    },
    readyTimeoutMs,
  );
}

/**
 * Starts `src/main.ts` as the start command does, with these settings. `ready` resolves once it
 * says it is serving (web, all) or started (worker).
 */
export function startCertex(env: Record<string, string>, readyTimeoutMs = 45_000): CertexProcess {
  const appName = `certex-test-${env.PROCESS_ROLE ?? 'all'}-${process.pid}-${++started}`;
  const child = spawn(process.execPath, MAIN_ARGS, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_FORMAT: 'json',
      DEMO_DATA: 'false',
      // A worker's health port: any free one, as several workers run at once.
      WORKER_HEALTH_PORT: '0',
      PGAPPNAME: appName,
      ...env,
    },
  });
  live.add(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));

  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('exit', (code, signal) => {
      alive = false;
      live.delete(child);
      done({ code, signal });
    });
  });

  const ready = new Promise<void>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`process ${child.pid} not ready after ${readyTimeoutMs} ms:\n${output}`)),
      readyTimeoutMs,
    );
    const check = () => {
      if (!output.includes('Worker started') && !output.includes('Certex is serving at')) return;
      clearTimeout(timer);
      child.stdout.off('data', check);
      done();
    };
    child.stdout.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`process ${child.pid} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  ready.catch(() => undefined);

  return {
    pid: child.pid!,
    appName,
    ready,
    exited,
    get alive() {
      return alive;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (alive) child.kill(signal);
      return exited;
    },
  };
}
