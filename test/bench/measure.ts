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
