import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';

/**
 * A private redis-server (Debian's binary) for tests that kill and restart Redis: the shared
 * server on 6379 must never be stopped. It keeps its port and data directory across restarts.
 */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** The pid of the redis-server running now. */
  readonly pid: number;
  /** Kills it (SIGKILL by default) and resolves once it has gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  restart(): Promise<void>;
  /** How many connections other processes hold to it now. */
  connections(): Promise<number>;
  /** Stops it and removes its data directory. */
  close(): Promise<void>;
  output(): string;
}

export interface RedisOptions {
  /**
   * 'aof' is what README tells operators to run: append-only file, fsync every second, no
   * eviction. 'none' keeps nothing on disk, so a restart starts empty.
   */
  persistence: 'aof' | 'none';
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** A TCP port nothing listens on now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startRedisServer(options: RedisOptions): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'certex-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction'];
  args.push(...(options.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no']));
  let output = '';
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  async function start(): Promise<void> {
    const from = output.length;
    const current = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = current;
    live.add(current);
    exited = new Promise((done) => current.once('exit', () => (live.delete(current), done())));
    await new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => fail(new Error(`redis-server on ${port} not ready after 10 s:\n${output}`)), 10000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (!output.slice(from).includes('Ready to accept connections')) return;
        clearTimeout(timer);
        current.stdout.off('data', onData);
        current.stdout.on('data', (more) => (output += more));
        ready();
      };
      current.stdout.on('data', onData);
      current.stderr.on('data', (chunk) => (output += chunk));
      void exited.then(() => {
        clearTimeout(timer);
        fail(new Error(`redis-server on ${port} exited before it was ready:\n${output}`));
      });
    });
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child!.pid!;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      child?.kill(signal);
      await exited;
    },
    restart: start,
    async connections() {
      const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 0 });
      try {
        const list = (await client.client('LIST')) as string;
        return list.trim().split('\n').length - 1;
      } finally {
        await client.quit();
      }
    },
    async close() {
      child?.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => output,
  };
}
