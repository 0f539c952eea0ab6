import { spawn } from 'node:child_process';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Load-test tools shared by the benchmarks that drive pages with autocannon. */

/** V8 heap in use after a full collection, when node runs with --expose-gc (npm run bench does). */
export function heapAfterGcMb(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

/** The V8 CPU profiler on this process; stop() gives the share of self time by package or source folder, largest first. */
export async function startProfile() {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<any>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 1000 });
  await post('Profiler.start');
  return {
    async stop(): Promise<Array<[string, number]>> {
      const { profile } = await post('Profiler.stop');
      session.disconnect();
      if (process.env.BENCH_CPU_PROFILE_DIR) {
        writeFileSync(join(process.env.BENCH_CPU_PROFILE_DIR, `app-${Date.now()}.cpuprofile`), JSON.stringify(profile));
      }
      const byNode = new Map<number, string>();
      for (const node of profile.nodes) {
        const url: string = node.callFrame.url ?? '';
        const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
        const src = /\/(src|test)\/([^/]+)/.exec(url);
        const key =
          pkg ??
          (src ? `${src[1]}/${src[2]}` : url.startsWith('node:') ? 'node core' : `(${node.callFrame.functionName || 'native/idle'})`);
        byNode.set(node.id, key);
      }
      const counts = new Map<string, number>();
      for (const id of profile.samples) counts.set(byNode.get(id)!, (counts.get(byNode.get(id)!) ?? 0) + 1);
      const all = profile.samples.length;
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([k, v]) => [k, (v / all) * 100]);
    },
  };
}

export async function checkPage(url: string, cookie: string, label: string) {
  const res = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  const html = await res.text();
  const rows = (html.match(/<tr class="app-table__row"/g) ?? []).length + (html.match(/name="ids"/g) ?? []).length;
  if (res.status !== 200 || rows === 0) throw new Error(`${label}: GET ${url} answered ${res.status} with ${rows} rows`);
}

export interface LoadResult {
  requests: number;
  durationS: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  cpuS: number;
}

/** Waits until no other connection of this database is running a statement (requests still in flight after a run). */
export async function idle(db: import('pg').Pool) {
  for (let i = 0; i < 100; i++) {
    const { rows } = await db.query(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'active' and pid <> pg_backend_pid()`,
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * autocannon in its own Node process; every response's time is collected there (its 'response'
 * event) so that p95 is exact, and the figures come back as JSON on stdout.
 */
export function runAutocannon(options: {
  url: string;
  paths: string[];
  cookies: string[];
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const script = `
    const autocannon = require(require.resolve('autocannon', { paths: [process.cwd()] }));
    const o = JSON.parse(process.argv[1]);
    const times = [];
    let sent = 0;
    const instance = autocannon({
      url: o.url, connections: o.connections, duration: o.seconds, timeout: 10,
      requests: o.paths.map((path) => ({
        method: 'GET', path,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: o.cookies[sent++ % o.cookies.length] } }),
      })),
    }, (error, result) => {
      if (error) { console.error(error); process.exit(1); }
      times.sort((a, b) => a - b);
      const at = (p) => times.length ? times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)] : NaN;
      const statusCodes = {};
      for (const [k, v] of Object.entries(result.statusCodeStats || {})) statusCodes[k] = v.count;
      process.stdout.write(JSON.stringify({
        requests: times.length, durationS: result.duration, p50: at(50), p95: at(95), p99: at(99),
        max: times[times.length - 1], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, statusCodes,
        cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      }));
    });
    instance.on('response', (client, statusCode, bytes, responseTime) => times.push(responseTime));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}`));
      try {
        resolve(JSON.parse(out));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}
