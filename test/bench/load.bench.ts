import type { AddressInfo } from 'node:net';
import { startTestApp, TEST_PASSWORD } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { signInOverHttp } from '../support/http-sign-in';
import type { BenchContext } from './run';
import { median, percentile, rssMb, timed } from './measure';
import { checkPage, heapAfterGcMb, idle, LoadResult, runAutocannon, startProfile } from './load-tools';
import { describePlan, statementKey, StatementTimer } from './statement-timer';

/**
 * `npm run bench -- load [seconds=30] [connections=20]`: the app listening on 127.0.0.1 with one
 * certification of 100,000 learners, 100,000 memberships and 100,000 open exceptions, signed in as
 * an administrator over HTTP. autocannon (in a child process, so that the load generator does not
 * share the app's event loop) drives the Exception, Completion and Membership reports one after
 * another, each for [seconds] at [connections] connections, alternating first page and
 * ?page=last, after a 10 s warm-up that is not counted. Latency percentiles are computed from every
 * response's time (autocannon itself reports p97.5, not p95). The app's RSS (this process) is
 * sampled every second of each run. Then 20 requests one at a time per report with every SQL
 * statement timed, and one more with the slowest statement EXPLAIN ANALYZEd: where a request's time goes.
 * CPU seconds of the app process and of autocannon during each run are printed (the rest of the
 * machine's 2 cores went to PostgreSQL).
 *
 * The app runs as in production as far as Express is concerned: process NODE_ENV=production turns on
 * Express's view cache (without it every request reads and compiles its templates again, which
 * costs about two thirds of the app's CPU). BENCH_NODE_ENV=development measures without it.
 *
 * BENCH_CPU_PROFILE=1: profile the app's CPU during each run (V8 sampling profiler, in process)
 * and print the self time by package / source folder: where the app's CPU per request goes.
 *
 * [sessions] (default 1): sign in that many times and spread the requests over the session cookies
 * (as that many people would), since every GET touches its session row (UPDATE session SET expire).
 *
 * With [seconds] over 60 it is the memory soak instead: the Exception report alone for [seconds]
 * (`npm run bench -- load 300` for 5 minutes): the RSS target is within ±15%, median of the first
 * minute against median of the last; the V8 heap after a full GC is printed before and after.
 */
const TARGET_P95_MS = 100;
const TARGET_RPS = 300;
// Long enough for V8 to optimise the page code and PostgreSQL to cache its indexes, as on a server that has been up a while.
const WARM_UP_SECONDS = 10;

export default async function loadBench(ctx: BenchContext) {
  const seconds = Number(ctx.args[0] ?? 30);
  const connections = Number(ctx.args[1] ?? 20);
  const sessions = Number(ctx.args[2] ?? 1);
  const total = 100000;
  const soak = seconds > 60;

  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = process.env.BENCH_NODE_ENV ?? 'production';
  const t = await startTestApp();
  process.env.NODE_ENV = nodeEnv;
  ctx.figure(
    'Express env (view cache)',
    `${t.app.getHttpAdapter().getInstance().get('env')} (${t.app.getHttpAdapter().getInstance().enabled('view cache') ? 'on' : 'off'})`,
  );
  try {
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}`;
    const base = origin + t.config.basePath;

    const arranged = await timed(() =>
      createExceptionFixture(t.db, { prefix: 'LD', shortName: 'Load', counts: { time_allowance: total } }),
    );
    const certificationId = arranged.result.certificationId;
    ctx.figure(`arrange ${total} learners, memberships and open exceptions (fixture SQL)`, arranged.ms / 1000, 's');
    // This server runs with autovacuum off; vacuum (analyze) does what autovacuum would after such a load.
    const vacuumed = await timed(() => t.db.query('vacuum (analyze) learner, membership, membership_source, exception'));
    ctx.figure('vacuum (analyze) after arranging', vacuumed.ms, 'ms');

    await t.createStaff('load-admin', 'admin');
    const cookies: string[] = [];
    for (let i = 0; i < sessions; i++) cookies.push(await signInOverHttp(base, 'load-admin', TEST_PASSWORD));
    const cookie = cookies[0];

    const reports: Array<[string, string]> = [
      ['Exception report', `/certifications/${certificationId}/exceptions`],
      ['Completion report', `/certifications/${certificationId}/completion`],
      ['Membership report', `/certifications/${certificationId}/membership`],
    ];
    for (const [label, path] of soak ? reports.slice(0, 1) : reports) {
      const paths = [t.config.basePath + path, `${t.config.basePath}${path}?page=last`];
      for (const p of paths) await checkPage(origin + p, cookie, label);

      await runAutocannon({ url: origin, paths, cookies, connections, seconds: WARM_UP_SECONDS });
      await idle(t.db);
      const heapBefore = heapAfterGcMb();
      const rss: number[] = [];
      const sampler = setInterval(() => rss.push(rssMb()), 1000);
      const profiler = process.env.BENCH_CPU_PROFILE ? await startProfile() : null;
      const cpuBefore = process.cpuUsage();
      let result: LoadResult;
      try {
        result = await runAutocannon({ url: origin, paths, cookies, connections, seconds });
      } finally {
        clearInterval(sampler);
      }
      if (profiler) {
        const shares = await profiler.stop();
        ctx.figure(`${label}: app CPU self time by package/folder (sampled)`, shares.map(([k, v]) => `${k} ${v.toFixed(0)}%`).join(', '));
      }
      const cpu = process.cpuUsage(cpuBefore);
      const name = `${label} (${connections} connections, ${sessions} session${sessions > 1 ? 's' : ''}, ${seconds} s, first page and ?page=last)`;
      ctx.figure(`${name}: requests`, `${result.requests} in ${result.durationS.toFixed(1)} s`);
      ctx.figure(`${name}: requests/s (target ≥ ${TARGET_RPS})`, result.requests / result.durationS);
      ctx.figure(`${name}: p50`, result.p50, 'ms');
      ctx.figure(`${name}: p95 (target ≤ ${TARGET_P95_MS} ms)`, result.p95, 'ms');
      ctx.figure(`${name}: p99`, result.p99, 'ms');
      ctx.figure(`${name}: max`, result.max, 'ms');
      ctx.figure(`${name}: non-2xx / errors / timeouts (target 0)`, `${result.non2xx} / ${result.errors} / ${result.timeouts}`);
      ctx.figure(`${name}: status codes`, JSON.stringify(result.statusCodes));
      const appCpuS = (cpu.user + cpu.system) / 1e6;
      ctx.figure(
        `${name}: CPU s of app / autocannon / the rest of 2 cores (PostgreSQL, idle)`,
        `${appCpuS.toFixed(1)} / ${result.cpuS.toFixed(1)} / ${(2 * result.durationS - appCpuS - result.cpuS).toFixed(1)} of ${(2 * result.durationS).toFixed(0)}`,
      );
      ctx.figure(`${name}: app CPU per request`, (appCpuS * 1000) / result.requests, 'ms');
      const verdict = [
        result.p95 <= TARGET_P95_MS ? null : `p95 ${(result.p95 - TARGET_P95_MS).toFixed(0)} ms over`,
        result.requests / result.durationS >= TARGET_RPS
          ? null
          : `requests/s ${(TARGET_RPS - result.requests / result.durationS).toFixed(0)} short`,
        result.non2xx + result.errors + result.timeouts === 0 ? null : 'errors',
      ].filter(Boolean);
      ctx.figure(`${name}: targets`, verdict.length ? `MISSED (${verdict.join(', ')})` : 'met');
      if (rss.length > 0) {
        const first = rss[0];
        const last = rss[rss.length - 1];
        ctx.figure(
          `${name}: app RSS min / max / first / last (${rss.length} samples, 1 a second)`,
          `${Math.min(...rss).toFixed(0)} / ${Math.max(...rss).toFixed(0)} / ${first.toFixed(0)} / ${last.toFixed(0)}`,
          'MB',
        );
        ctx.figure(`${name}: app RSS change first → last sample`, ((last - first) / first) * 100, '%');
        // Single samples swing with garbage collection; a leak shows as a rising level, so the
        // target compares the median of the first minute with the median of the last.
        const window = Math.min(60, Math.floor(rss.length / 2));
        const early = median(rss.slice(0, window));
        const late = median(rss.slice(-window));
        const change = ((late - early) / early) * 100;
        ctx.figure(`${name}: app RSS median of first ${window} s → last ${window} s`, `${early.toFixed(0)} → ${late.toFixed(0)}`, 'MB');
        ctx.figure(
          `${name}: app RSS change, median first → last ${window} s (target within ±15%)`,
          `${change.toFixed(1)} % (${Math.abs(change) <= 15 ? 'met' : 'MISSED'})`,
        );
      }
      if (heapBefore !== null) {
        const heapAfter = heapAfterGcMb()!;
        ctx.figure(
          `${name}: app V8 heap used after a full GC, before → after the run`,
          `${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB (${(((heapAfter - heapBefore) / heapBefore) * 100).toFixed(1)} %)`,
        );
      }
      await idle(t.db);
      await whereTimeGoes(
        ctx,
        label,
        paths.map((p) => origin + p),
        cookie,
      );
    }
  } finally {
    await t.close();
  }
}

/** 20 requests one at a time (first and last page in turn) with every SQL statement of the app timed. */
async function whereTimeGoes(ctx: BenchContext, label: string, urls: string[], cookie: string) {
  const n = 20;
  const timer = new StatementTimer();
  const durations: number[] = [];
  timer.start();
  try {
    for (let i = 0; i < n; i++) {
      const { ms } = await timed(async () => (await fetch(urls[i % urls.length], { headers: { cookie } })).text());
      durations.push(ms);
    }
  } finally {
    await timer.stop();
  }
  const timings = await timer.stop();
  const sqlMs = timings.reduce((sum, s) => sum + s.totalMs, 0) / n;
  const statements = timings.reduce((sum, s) => sum + s.count, 0) / n;
  ctx.figure(
    `${label}: one request at a time, median / p95 / of which SQL (${statements.toFixed(1)} statements a request)`,
    `${percentile(durations, 50).toFixed(1)} / ${percentile(durations, 95).toFixed(1)} / ${sqlMs.toFixed(1)}`,
    'ms',
  );
  for (const s of timings.sort((a, b) => b.totalMs - a.totalMs).slice(0, 4)) {
    ctx.figure(`${label}:   SQL ${(s.totalMs / n).toFixed(2)} ms a request (${s.count / n}×)`, s.statement);
  }
  // The slowest read, EXPLAIN ANALYZEd in one more request (savepoint, rolled back; then run for real).
  const slowestSelect = timings.find((s) => /^select/i.test(s.statement));
  if (slowestSelect) {
    const matches = { test: (text: string) => statementKey(text) === slowestSelect.statement } as RegExp;
    const explainer = new StatementTimer(matches);
    explainer.start();
    try {
      await (await fetch(urls[0], { headers: { cookie } })).text();
    } finally {
      await explainer.stop();
    }
    for (const e of explainer.explained.slice(0, 1)) ctx.figure(`${label}:   EXPLAIN ANALYZE of the slowest read`, describePlan(e.plan));
  }
}
