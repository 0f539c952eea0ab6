import type { AddressInfo } from 'node:net';
import { pageQuery } from '../../src/common/keyset';
import { ExceptionsOverviewService, OVERVIEW_SORTS, parseOverviewView } from '../../src/exceptions/exceptions-overview.service';
import { startTestApp, TEST_PASSWORD } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { signInOverHttp } from '../support/http-sign-in';
import { median, percentile, timed } from './measure';
import type { BenchContext } from './run';

const REQUESTS = 60;
const TRIGGER_TURNS = 3;

/**
 * `npm run bench -- exceptions-overview [certifications=1000] [exceptions=1000000] [requests=60]`:
 * the Exceptions overview over HTTP through the real app (signed in, production view cache), with
 * [certifications] certifications sharing [exceptions] open exceptions, beside a bare signed-in
 * page (the blank certification form: the session, the layout and no query) timed in the same run,
 * one request after another: median, p95 and the ratio to the floor, which does not move with the
 * machine's speed. The exceptions are raised as sync runs raise them: each certification's by
 * about 30 runs over the last 120 days, every fourth day.
 *
 * Then what the kept quarter-hour counts cost their writers: closing 100,000 open exceptions of
 * one certification in one statement (as a bulk action's chunks do, in smaller statements) with
 * the counting triggers on and off, in turns, each rolled back.
 */
export default async function exceptionsOverviewBench(ctx: BenchContext) {
  const certifications = Number(ctx.args[0] ?? 1000);
  const exceptions = Number(ctx.args[1] ?? 1_000_000);
  const requests = Number(ctx.args[2] ?? REQUESTS);
  const learners = Math.ceil(exceptions / certifications);

  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  const t = await startTestApp();
  process.env.NODE_ENV = nodeEnv;
  try {
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(t.server.address() as AddressInfo).port}${t.config.basePath}`;
    await t.createStaff('ada', 'admin');

    const seeded = await timed(async () => {
      await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
         select 'Certification ' || lpad(n::text, 4, '0'), 'OV' || n, 1, 'year', 1, 'month' from generate_series(1, $1) n`,
        [certifications],
      );
      await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email)
         select 'OV' || lpad(n::text, 7, '0'), 'ov' || n, 'Pat', 'Learner' || n, 'ov' || n || '@example.org' from generate_series(1, $1) n`,
        [learners],
      );
      // A tenth of the certifications per statement, in both tables.
      const { rows } = await t.db.query(`select min(id) as low, max(id) as high from certification`);
      const [low, high] = [rows[0].low as number, rows[0].high as number];
      const step = Math.ceil((high - low + 1) / 10);
      for (let from = low; from <= high; from += step) {
        const range = [from, from + step - 1];
        await t.db.query(
          `insert into membership (certification_id, learner_id, due_at, exception_status, added_at)
           select c.id, l.id, now() + interval '5 days', 'open', now() - interval '120 days'
             from certification c cross join learner l
            where c.id between $1 and $2 and l.id_number like 'OV%'
            limit $3`,
          [...range, exceptions],
        );
        // Run r of a certification raised its exceptions 4r days ago, at a minute of its own.
        await t.db.query(
          `insert into exception (membership_id, certification_id, learner_id, type, evidence, summary, raised_at)
           select m.id, m.certification_id, m.learner_id,
                  (array['time_allowance', 'time_allowance', 'time_allowance', 'time_allowance', 'time_allowance', 'time_allowance',
                         'duplicate_course', 'duplicate_course', 'completion_time_unknown', 'unknown'])[1 + m.learner_id % 10],
                  '{}'::jsonb, 'seeded',
                  now() - make_interval(days => 4 * ((m.learner_id * 7 + m.certification_id) % 30),
                                        mins => m.certification_id % 600, secs => m.learner_id % 50)
             from membership m where m.certification_id between $1 and $2`,
          range,
        );
      }
      await t.db.query(`vacuum (analyze) membership, exception, exception_open_count, exception_open_quarter_count`);
    });
    const counted = (await t.db.query(`select count(*)::int as n from exception where status = 'open'`)).rows[0].n;
    const quarters = (await t.db.query(`select count(*)::int as n from exception_open_quarter_count where n <> 0`)).rows[0];
    const recent = (
      await t.db.query(
        `select count(*)::int as n from exception_open_quarter_count where n <> 0 and raised_quarter > now() - interval '32 days'`,
      )
    ).rows[0];
    ctx.figure('certifications', certifications);
    ctx.figure('open exceptions', counted);
    ctx.figure('kept quarter-hour count rows (of them in the last 32 days)', `${quarters.n} (${recent.n})`);
    ctx.figure('seeding (set-based SQL, triggers on)', seeded.ms / 1000, 's');

    const cookie = await signInOverHttp(base, 'ada', TEST_PASSWORD);
    const get = async (path: string) => {
      const res = await fetch(base + path, { headers: { cookie }, redirect: 'manual' });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
      return body;
    };
    const first = await get('/exceptions');
    if (!first.includes('1–50 of ' + certifications.toLocaleString('en-GB')))
      throw new Error('the overview does not list every certification');

    /** The durations of `requests` requests of each path, taken in turns (after a warm-up of each). */
    const timeInTurns = async (paths: string[]) => {
      const durations = paths.map(() => [] as number[]);
      for (const path of paths) for (let i = 0; i < 5; i++) await get(path);
      for (let i = 0; i < requests; i++) {
        for (const [p, path] of paths.entries()) {
          const start = process.hrtime.bigint();
          await get(path);
          durations[p].push(Number(process.hrtime.bigint() - start) / 1e6);
        }
      }
      return durations;
    };
    const floorPath = '/certifications/new';
    const pages = ['/exceptions', '/exceptions?sort=open&dir=desc', '/exceptions?sort=oldest', '/exceptions?q=Certification+09'];
    const [floor, ...timings] = await timeInTurns([floorPath, ...pages]);
    ctx.figure(`floor ${floorPath} median / p95`, `${median(floor).toFixed(1)} / ${percentile(floor, 95).toFixed(1)}`, 'ms');
    for (const [i, path] of pages.entries()) {
      const ms = timings[i];
      ctx.figure(
        `${path} median / p95 (target median ≤ 50 ms)`,
        `${median(ms).toFixed(1)} / ${percentile(ms, 95).toFixed(1)} ms, ${(median(ms) / median(floor)).toFixed(2)}× the floor`,
      );
    }
    // The page's statement alone, as its service runs it, for what the page adds around it.
    const overview = t.app.get(ExceptionsOverviewService);
    const statement: number[] = [];
    for (let i = 0; i < 5 + requests; i++) {
      const run = await timed(() => t.inContext(() => overview.page(parseOverviewView({}), 'UTC', pageQuery({}, OVERVIEW_SORTS.name))));
      if (i >= 5) statement.push(run.ms);
    }
    ctx.figure(
      'the first page’s statement alone (service call) median / p95',
      `${median(statement).toFixed(1)} / ${percentile(statement, 95).toFixed(1)}`,
      'ms',
    );
    const csv = await timed(() => get('/exceptions.csv'));
    ctx.figure(`/exceptions.csv (${certifications} rows)`, csv.ms, 'ms');

    // What the quarter-hour counts add to a statement that closes 100,000 open exceptions.
    const fixture = await createExceptionFixture(t.db, { prefix: 'TC', shortName: 'Trigger cost', counts: { time_allowance: 100_000 } });
    await t.db.query('vacuum (analyze) exception');
    const client = await t.db.connect();
    try {
      const close = async (triggers: 'enable' | 'disable') => {
        await client.query('begin');
        for (const event of ['insert', 'update', 'delete']) {
          await client.query(`alter table exception ${triggers} trigger exception_open_quarter_count_${event}`);
        }
        const start = process.hrtime.bigint();
        await client.query(
          `update exception set status = 'dismissed', handled_at = now() where certification_id = $1 and status = 'open'`,
          [fixture.certificationId],
        );
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        await client.query('rollback');
        return ms;
      };
      const on: number[] = [];
      const off: number[] = [];
      await close('enable');
      for (let i = 0; i < TRIGGER_TURNS; i++) {
        off.push(await close('disable'));
        on.push(await close('enable'));
      }
      ctx.figure('close 100,000 open exceptions, quarter-hour counts off (median)', median(off), 'ms');
      ctx.figure('close 100,000 open exceptions, quarter-hour counts on (median)', median(on), 'ms');
      ctx.figure('cost of the quarter-hour counts per 1,000 exceptions closed', (median(on) - median(off)) / 100, 'ms');
    } finally {
      client.release();
    }
  } finally {
    await t.close();
  }
}
