import { readFileSync } from 'node:fs';
import type { TestClient } from '../support/app';

/** Small measuring tools shared by the benchmarks. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs `request` n times one after another (after 5 warm-up runs); the durations in ms. */
export async function timeRequests(n: number, request: () => Promise<{ status: number }>): Promise<number[]> {
  for (let i = 0; i < 5; i++) await request();
  const durations: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    const res = await request();
    durations.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (res.status >= 400) throw new Error(`request failed with ${res.status}`);
  }
  return durations;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const start = process.hrtime.bigint();
  const result = await work();
  return { result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** Resident memory of this process in MB. */
export function rssMb(): number {
  return process.memoryUsage().rss / (1024 * 1024);
}

/** The V8 heap of this process in use, live or not yet collected, in MB. */
export function heapUsedMb(): number {
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

/**
 * CPU seconds spent so far by this process and by the PostgreSQL backends serving the current
 * database of `db` (from /proc, Linux only; a backend that has exited since is not counted). On a
 * machine shared with other work, wall time stretches with the load; CPU time much less so.
 */
export async function cpuSeconds(db: { query: (text: string) => Promise<{ rows: Array<{ pid: number }> }> }): Promise<CpuSample> {
  const { rows } = await db.query('select pid from pg_stat_activity where datname = current_database()');
  const backends = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields 14 and 15 (utime, stime) after the command name, which is in parentheses.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      backends.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // The backend has gone meanwhile, or another machine serves the database.
    }
  }
  const own = process.cpuUsage();
  return { node: (own.user + own.system) / 1e6, backends };
}

export interface CpuSample {
  node: number;
  backends: Map<number, number>;
}

/** CPU seconds between two samples: this process, and the database backends (new ones from zero). */
export function cpuBetween(before: CpuSample, after: CpuSample): { node: number; database: number } {
  let database = 0;
  for (const [pid, seconds] of after.backends) database += seconds - (before.backends.get(pid) ?? 0);
  return { node: after.node - before.node, database };
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat times. */
const CLOCK_TICKS = 100;

export interface CsvDownload {
  status: number;
  lines: number;
  bytes: number;
  /** The first line. */
  header: string;
  seconds: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  /**
   * The V8 heap in use before (after a full collection) and at its peak. RSS rarely falls once V8
   * has taken memory, so a download that follows another can reuse what the first took and show
   * no RSS growth while filling the heap just as much; the heap's growth does not depend on order.
   */
  heapBeforeMb: number;
  heapPeakMb: number;
}

/**
 * Downloads a CSV through a signed-in test client, counting lines as the chunks arrive (nothing is
 * kept), while sampling this process's RSS and V8 heap every 20 ms after a full collection.
 */
export async function downloadCsv(admin: TestClient, url: string): Promise<CsvDownload> {
  (globalThis as { gc?: () => void }).gc?.();
  const rssBeforeMb = rssMb();
  const heapBeforeMb = heapUsedMb();
  let rssPeakMb = rssBeforeMb;
  let heapPeakMb = heapBeforeMb;
  const sampler = setInterval(() => {
    rssPeakMb = Math.max(rssPeakMb, rssMb());
    heapPeakMb = Math.max(heapPeakMb, heapUsedMb());
  }, 20);
  const start = process.hrtime.bigint();
  try {
    const res = await admin.agent
      .get(admin.path(url))
      .buffer(true)
      .parse((stream, done) => {
        let lines = 0;
        let bytes = 0;
        let header = '';
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (!header.includes('\n')) header += chunk.toString('utf8', 0, Math.min(chunk.length, 500));
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        });
        stream.on('end', () => done(null, { lines, bytes, header: header.split('\n')[0] }));
        stream.on('error', (error: Error) => done(error, null));
      });
    const body = res.body as { lines: number; bytes: number; header: string };
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return {
      ...body,
      status: res.status,
      seconds,
      rssBeforeMb,
      rssPeakMb: Math.max(rssPeakMb, rssMb()),
      heapBeforeMb,
      heapPeakMb: Math.max(heapPeakMb, heapUsedMb()),
    };
  } finally {
    clearInterval(sampler);
  }
}
