import { readFileSync } from 'node:fs';

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
