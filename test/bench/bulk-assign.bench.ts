import { SORTS } from '../../src/exceptions/exception-report.service';
import { filterSql } from '../../src/exceptions/selection';
import { PAGE_SIZE } from '../../src/common/listing';
import { keysetSql, PageQuery } from '../../src/common/keyset';
import { startTestApp, TestApp, TestClient } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import type { BenchContext } from './run';
import { cpuBetween, cpuSeconds, median, percentile, rssMb, timed, timeRequests } from './measure';
import { naiveAssign } from './naive-assign';
import { BENCH_MARK, describePlan, StatementTimer } from './statement-timer';
import { loadavg } from 'node:os';
import { writeFileSync } from 'node:fs';
import { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction, sql } from '../../src/database/sql';
import { realisticDueSql } from '../../src/exceptions/selection';
import { ACTION_STATUS, BulkActionName } from '../../src/exceptions/exception-rules';
import { LearnerMessagesService } from '../../src/notifications/learner-messages.service';

/**
 * `npm run bench -- bulk-assign [large] [baseline] [diagnostic]`: one certification with 100,000 open
 * exceptions (BULK_BENCH_EXCEPTIONS=N for another number). Times the report's first and last pages
 * on the server, then each of the four actions over 100,000 exceptions (a certification each) from
 * OK to Completed and to the last of its catch-up messages in the outbox (worker in this process),
 * each beside the bare set-based SQL making the same changes, audit rows and messages in one
 * transaction on an identical certification, in the same run, in wall time and in CPU seconds: the
 * ratios are the figures that do not move with the machine's speed (BULK_BENCH_ACTIONS=assign runs
 * Assign alone). With [large] (e.g. 700000), Assign once more over that many. Then a naive per-row
 * baseline over [baseline] exceptions (default 10,000; 0: none), and checks that every exception
 * was really handled. Last, a diagnostic bulk action over [diagnostic] exceptions (default two
 * chunks) EXPLAIN ANALYZEs each chunk statement;
 * BENCH_PLANS_FILE=path writes those plans in full.
 */
export default async function bulkAssignBench(ctx: BenchContext) {
  const total = Number(process.env.BULK_BENCH_EXCEPTIONS ?? 100000);
  const large = Number(ctx.args[0] ?? 0);
  // BULK_BENCH_ACTIONS=assign,dismiss: only these besides Assign (which the checks below need).
  const actions = (process.env.BULK_BENCH_ACTIONS ?? 'assign,assign_realistic,do_not_assign,dismiss').split(',');
  const baselineCount = Number(ctx.args[1] ?? 10000);
  const rssStart = rssMb();
  // BULK_CHUNK_SIZE=N npm run bench -- bulk-assign: compare chunk sizes (the app's default otherwise).
  const t = await startTestApp(process.env.BULK_CHUNK_SIZE ? { BULK_CHUNK_SIZE: process.env.BULK_CHUNK_SIZE } : {});
  try {
    // 1. Arrange
    const arranged = await timed(() =>
      createExceptionFixture(t.db, {
        prefix: 'BA',
        shortName: 'Bulk',
        counts: { time_allowance: Math.ceil(total * 0.8), duplicate_course: total - Math.ceil(total * 0.8) },
      }),
    );
    const certificationId = arranged.result.certificationId;
    // What autovacuum would do shortly after such a load; without it the planner guesses.
    const analysed = await timed(() => t.db.query('analyze learner, membership, exception'));
    ctx.figure(`arrange ${total} open exceptions (fixture SQL)`, arranged.ms / 1000, 's');
    ctx.figure('analyze after arranging', analysed.ms, 'ms');

    const adminId = await t.createStaff('bench-admin', 'admin');
    const admin = await t.signedIn('bench-admin');
    const base = `/certifications/${certificationId}/exceptions`;

    // 2. Report pages on the server
    const firstPage = await admin.get(base);
    if (
      firstPage.status !== 200 ||
      (!firstPage.text.includes(`Exception report (${total.toLocaleString('en-GB')})`) &&
        !firstPage.text.includes(`Exception report (${total})`))
    ) {
      throw new Error(`report page did not show ${total} open exceptions (status ${firstPage.status})`);
    }
    // Ten learners: ID numbers BA050000 … BA050009 of 100,000 (the middle ten of any total).
    const search =
      'BA' +
      String(Math.floor(total / 20) * 10)
        .padStart(6, '0')
        .slice(0, 5);
    await measurePages(ctx, admin, base, search, 'after analyze');
    // This server runs with autovacuum off; a vacuum sets the visibility map as autovacuum would,
    // so that counts can be index-only scans.
    const vacuumed = await timed(() => t.db.query('vacuum (analyze) learner, membership, exception'));
    ctx.figure('vacuum (analyze) after arranging', vacuumed.ms, 'ms');
    await measurePages(ctx, admin, base, search, 'after vacuum');
    const searched = await admin.get(`${base}?q=${search}`);
    const searchRows = (searched.text.match(/name="ids"/g) ?? []).length;
    if (searchRows !== 10) throw new Error(`search for ${search} showed ${searchRows} rows, not 10`);

    for (const [label, page] of [
      ['first page', { after: null, before: null }],
      ['last page', { after: null, before: null, last: true }],
    ] as Array<[string, PageQuery]>) {
      const plan = await explain(t, pageSql(certificationId, page));
      ctx.figure(`EXPLAIN ANALYZE page query, ${label}`, `${plan.executionMs} ms, ${plan.index}`);
    }
    // The other queries every report page runs read the kept counts (exception_open_count), not the rows.
    const openCount = await explain(t, {
      sql: `select coalesce(sum(n), 0)::int as n from exception_open_count where certification_id = ?`,
      params: [certificationId],
    });
    ctx.figure('EXPLAIN ANALYZE open count (tab label)', `${openCount.executionMs} ms, ${openCount.index}`);
    const byType = await explain(t, {
      sql: `select type, n from exception_open_count where certification_id = ? and n > 0`,
      params: [certificationId],
    });
    ctx.figure('EXPLAIN ANALYZE counts by type (Select options)', `${byType.executionMs} ms, ${byType.index}`);

    // 3. The four actions over every exception, each beside the bare set-based SQL doing the same rows.
    const runs: ActionRun[] = [];
    const assignRun = await measureAction(ctx, t, admin, adminId, 'assign', arranged.result.certificationId, total, true);
    runs.push(assignRun);
    for (const [action, types] of [
      ['assign_realistic', { time_allowance: Math.ceil(total * 0.8), completion_time_unknown: total - Math.ceil(total * 0.8) }],
      ['do_not_assign', { time_allowance: Math.ceil(total * 0.8), duplicate_course: total - Math.ceil(total * 0.8) }],
      ['dismiss', { time_allowance: Math.ceil(total * 0.8), duplicate_course: total - Math.ceil(total * 0.8) }],
    ] as Array<[BulkActionName, Record<string, number>]>) {
      if (!actions.includes(action)) continue;
      const fixture = await createExceptionFixture(t.db, { prefix: `${PREFIX[action]}A`, shortName: `${action} app`, counts: types });
      runs.push(await measureAction(ctx, t, admin, adminId, action, fixture.certificationId, total, false, types));
    }
    if (large > 0) {
      const types = { time_allowance: Math.ceil(large * 0.8), duplicate_course: large - Math.ceil(large * 0.8) };
      const fixture = await createExceptionFixture(t.db, { prefix: 'LGA', shortName: 'Large app', counts: types });
      runs.push(await measureAction(ctx, t, admin, adminId, 'assign', fixture.certificationId, large, false, types));
    }
    for (const run of runs) {
      const messages = run.messagesMs === null ? 'none' : `${(run.messagesMs / 1000).toFixed(2)} s`;
      ctx.figure(
        `${LABEL[run.action]} ${run.total.toLocaleString('en-GB')}: OK → Completed / → messages written / bare SQL / ratio`,
        `${(run.completedMs / 1000).toFixed(2)} s / ${messages} / ${(run.bareMs / 1000).toFixed(2)} s / ` +
          `${(Math.max(run.completedMs, run.messagesMs ?? 0) / run.bareMs).toFixed(2)}× (load ${run.load.toFixed(1)}); ` +
          `CPU s ${(run.cpuApp.database + run.cpuApp.node).toFixed(1)} / bare ${(run.cpuBare.database + run.cpuBare.node).toFixed(1)} = ${run.cpuRatio.toFixed(2)}×`,
      );
    }
    const bulkActionId = assignRun.bulkActionId;
    const setBasedMs = assignRun.completedMs;

    // 4. Naive per-row baseline on a fresh certification
    let naiveCertificationId = 0;
    if (baselineCount > 0) {
      const small = await createExceptionFixture(t.db, { prefix: 'NV', shortName: 'Naive', counts: { time_allowance: baselineCount } });
      naiveCertificationId = small.certificationId;
      await t.db.query('analyze learner, membership, exception');
      const naive = await timed(() => naiveAssign(t.db, small.certificationId, adminId, 'Benchmark baseline'));
      const naiveHandled = naive.result;
      const setPer = setBasedMs / total;
      const naivePer = naive.ms / naiveHandled.handled;
      ctx.figure(`naive per-row baseline, ${baselineCount} exceptions (5 statements + 1 transaction each)`, naive.ms / 1000, 's');
      ctx.figure('set-based rate', (total / setBasedMs) * 1000, 'exceptions/s');
      ctx.figure('naive rate', (naiveHandled.handled / naive.ms) * 1000, 'exceptions/s');
      ctx.figure('set-based time per exception', setPer * 1000, 'µs');
      ctx.figure('naive time per exception', naivePer * 1000, 'µs');
      ctx.figure('ratio naive / set-based per exception', naivePer / setPer, '×');
      ctx.figure('naive at 100,000 (extrapolated)', (naivePer * total) / 1000, 's');
    }

    // 5. Correctness: a fast but wrong run must not pass
    const check = (
      await t.db.query(
        `select (select count(*) from exception where certification_id = $1 and status = 'open')::int as open,
                (select count(*) from exception where certification_id = $1 and status = 'assigned' and bulk_action_id = $2
                    and handled_by = $3 and reason = 'Benchmark')::int as assigned,
                (select count(*) from membership where certification_id = $1 and exception_status = 'assigned'
                    and assigned_at is not null)::int as memberships,
                (select count(*) from exception_audit where bulk_action_id = $2 and status_before = 'open' and status_after = 'assigned'
                    and due_after is not distinct from due_before)::int as audit,
                (select count(distinct exception_id) from exception_audit where bulk_action_id = $2)::int as audited_exceptions,
                (select count(*) from bulk_action_item where bulk_action_id = $2 and outcome = 'applied')::int as items,
                (select count(*) from exception where certification_id = $4 and status = 'assigned')::int as naive_assigned,
                (select count(*) from exception_audit where certification_id = $4)::int as naive_audit`,
        [certificationId, bulkActionId, adminId, naiveCertificationId],
      )
    ).rows[0];
    ctx.figure('check', JSON.stringify(check));
    const expected = {
      open: 0,
      assigned: total,
      memberships: total,
      audit: total,
      audited_exceptions: total,
      items: total,
      naive_assigned: baselineCount,
      naive_audit: baselineCount,
    };
    const wrong = Object.entries(expected).filter(([key, value]) => check[key] !== value);
    const finished = assignRun.finished;
    if (finished.state !== 'completed' || finished.applied !== total || wrong.length > 0) {
      throw new Error(
        `wrong result: state ${finished.state}, applied ${finished.applied}; ${wrong.map(([k, v]) => `${k} ${check[k]} ≠ ${v}`).join(', ')}`,
      );
    }
    const report = await admin.get(base);
    if (!report.text.includes('There are no open exceptions in this certification.') || report.text.includes('name="ids"')) {
      throw new Error('the report still lists exceptions after Assign all');
    }
    ctx.figure(
      'correctness',
      `all ${total} assigned with ${total} audit rows; baseline ${baselineCount} assigned with ${baselineCount} audit rows`,
    );

    // 6. Where a chunk's time goes: one more bulk action of one chunk, each of its statements
    // EXPLAIN ANALYZEd (in a rolled-back savepoint) just before it runs. Not timed.
    const diagnosticCount = Number(ctx.args[2] ?? 2 * t.config.bulkChunkSize);
    const diagnostic = await createExceptionFixture(t.db, {
      prefix: 'DG',
      shortName: 'Diagnostic',
      counts: { time_allowance: diagnosticCount },
    });
    await t.db.query('vacuum (analyze) learner, membership, exception');
    const explainer = new StatementTimer(/^\s*(with snapshot as|with chunk as|insert into outbox)/);
    explainer.start();
    try {
      const diagBase = `/certifications/${diagnostic.certificationId}/exceptions`;
      const diagCont = await admin.post(`${diagBase}/bulk`, { select: 'all', action: 'assign', reason: 'Diagnostic' });
      const diagOk = await admin.post(diagCont.headers.location.split('?')[0], {});
      const diagId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(diagOk.headers.location ?? '')?.[1]);
      const deadline = Date.now() + 300_000;
      for (;;) {
        const row = (await t.db.query(`${BENCH_MARK} select state, processed, error from bulk_action where id = $1`, [diagId])).rows[0];
        if (row?.state === 'completed') break;
        if (Date.now() > deadline || ['completed_with_failures', 'failed'].includes(row?.state)) {
          throw new Error(`diagnostic bulk action ${diagId} did not complete: ${JSON.stringify(row)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await explainer.stop();
    }
    // The plans of the first and the last chunk (and of the snapshot at OK).
    const byStatement = new Map<string, any[]>();
    for (const { statement, plan } of explainer.explained) {
      const key = statement.slice(0, 60);
      byStatement.set(key, [...(byStatement.get(key) ?? []), plan]);
    }
    for (const [statement, plans] of byStatement) {
      const shown =
        plans.length > 1
          ? [
              [`chunk 1 of ${plans.length}`, plans[0]],
              [`chunk ${plans.length} of ${plans.length}`, plans.at(-1)],
            ]
          : [['once', plans[0]]];
      for (const [which, plan] of shown)
        ctx.figure(`EXPLAIN ANALYZE, ${diagnosticCount} exceptions, ${which}: ${statement}`, describePlan(plan));
    }
    if (process.env.BENCH_PLANS_FILE) writeFileSync(process.env.BENCH_PLANS_FILE, JSON.stringify(explainer.explained, null, 1));

    ctx.figure('RSS at start / at end of benchmark', `${rssStart.toFixed(0)} / ${rssMb().toFixed(0)}`, 'MB');
  } finally {
    await t.close();
  }
}

const LABEL: Record<BulkActionName, string> = {
  assign: 'Assign',
  assign_realistic: 'Set realistic due date and assign',
  do_not_assign: 'Do not assign',
  dismiss: 'Dismiss the exception',
};
/** Learner ID number prefixes of each action's certifications (app, then bare twin). */
const PREFIX: Record<BulkActionName, string> = { assign: 'AS', assign_realistic: 'RE', do_not_assign: 'NA', dismiss: 'DI' };

interface ActionRun {
  action: BulkActionName;
  total: number;
  bulkActionId: number;
  completedMs: number;
  /** Null for an action that writes no messages. */
  messagesMs: number | null;
  bareMs: number;
  load: number;
  finished: { state: string; applied: number };
  cpuRatio: number;
  cpuApp: { node: number; database: number };
  cpuBare: { node: number; database: number };
}

interface OutcomeCheck {
  exceptions: Record<string, number>;
  memberships: Record<string, number>;
  audit: number;
  messages: Record<string, number>;
}

/**
 * One action over every open exception of `certificationId`, from OK to Completed and to the last
 * of its messages in the outbox, beside the bare SQL over an identical certification (made here
 * with the same exception types); both must leave the same exceptions, memberships, audit rows and
 * messages (by kind), or the benchmark fails.
 */
async function measureAction(
  ctx: BenchContext,
  t: TestApp,
  admin: TestClient,
  adminId: number,
  action: BulkActionName,
  certificationId: number,
  total: number,
  timeStatements: boolean,
  types: Record<string, number> = {},
): Promise<ActionRun> {
  const label = `${LABEL[action]}, ${total.toLocaleString('en-GB')}`;
  const counts = Object.keys(types).length
    ? types
    : Object.fromEntries(
        (
          await t.db.query(`select type, count(*)::int as n from exception where certification_id = $1 and status = 'open' group by 1`, [
            certificationId,
          ])
        ).rows.map((r) => [r.type, r.n]),
      );
  const twin = await createExceptionFixture(t.db, {
    prefix: `${PREFIX[action]}B${total}`.slice(0, 6),
    shortName: `${action} bare ${total}`,
    counts,
  });
  await t.db.query('vacuum (analyze) learner, membership, exception');

  // The bare SQL: the same changes, audit rows and messages in one transaction, no bulk action.
  ctx.figure(`${label}: load average (1 min) before the bare SQL`, loadavg()[0]);
  const cpuBeforeBare = await cpuSeconds(t.db);
  const bare = await timed(() => bareAction(t, action, twin.certificationId, adminId));
  const cpuBare = cpuBetween(cpuBeforeBare, await cpuSeconds(t.db));
  ctx.figure(`${label}: bare set-based SQL (one transaction: state, audit, messages)`, bare.ms / 1000, 's');
  ctx.figure(`${label}: bare SQL, CPU of PostgreSQL / of Node`, `${cpuBare.database.toFixed(2)} / ${cpuBare.node.toFixed(2)}`, 's');

  const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, { select: 'all', action, reason: 'Benchmark' });
  if (cont.status !== 303) throw new Error(`Continue answered ${cont.status}`);
  const confirmUrl = cont.headers.location.split('?')[0];
  const confirmPage = await admin.get(confirmUrl);
  if (!confirmPage.text.includes(`This will affect ${total.toLocaleString('en-GB')} learners`)) {
    throw new Error(`confirmation page (${confirmPage.status}) does not say it affects ${total} learners`);
  }
  const expectedMessages = Object.values((await outcomeCheck(t, twin.certificationId)).messages).reduce((a, b) => a + b, 0);

  const outboxBefore = Number((await t.db.query('select coalesce(max(id), 0) as id from outbox')).rows[0].id);
  global.gc?.();
  const load = loadavg()[0];
  ctx.figure(`${label}: load average (1 min) before OK`, load);
  const rssBefore = rssMb();
  let rssPeak = rssBefore;
  const timer = new StatementTimer();
  if (timeStatements) timer.start();
  const cpuBeforeOk = await cpuSeconds(t.db);
  const start = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - start) / 1e6;
  const ok = await admin.post(confirmUrl, {});
  const okMs = elapsed();
  const match = /\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location ?? '');
  if (ok.status !== 303 || !match) throw new Error(`OK answered ${ok.status} ${ok.headers.location}`);
  const bulkActionId = Number(match[1]);

  // Poll as the progress page would; the moments `processed` changes mark the ends of chunks.
  const chunkEnds: Array<{ at: number; processed: number }> = [];
  let startedAt: number | null = null;
  let finished: any;
  let messagesMs: number | null = null;
  let messagesCountedAt = 0;
  for (;;) {
    const { rows } = await t.db.query(
      `${BENCH_MARK} select state, processed, total, applied, failed, already_handled from bulk_action where id = $1`,
      [bulkActionId],
    );
    const row = rows[0];
    const now = elapsed();
    rssPeak = Math.max(rssPeak, rssMb());
    if (startedAt === null && row.state !== 'queued') startedAt = now;
    if (row.processed > (chunkEnds.at(-1)?.processed ?? 0)) chunkEnds.push({ at: now, processed: row.processed });
    if (!finished && ['completed', 'completed_with_failures', 'failed'].includes(row.state)) finished = { ...row, at: now };
    // Counting the messages reads every new outbox row: once a second, and at the end.
    if (expectedMessages > 0 && messagesMs === null && (finished || now - messagesCountedAt >= 1000)) {
      messagesCountedAt = now;
      const counted = await t.db.query(`${BENCH_MARK} select count(*)::int as n from outbox where id > $1 and certification_id = $2`, [
        outboxBefore,
        certificationId,
      ]);
      if (counted.rows[0].n >= expectedMessages) messagesMs = elapsed();
    }
    if (finished && (expectedMessages === 0 || messagesMs !== null)) break;
    if (now > 600_000) throw new Error(`bulk action ${bulkActionId} still ${row.state} after 600 s (${row.processed}/${row.total})`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpuApp = cpuBetween(cpuBeforeOk, await cpuSeconds(t.db));
  const statements = await timer.stop();
  const completedMs = finished.at;
  ctx.figure(`${label}: OK → Completed`, completedMs / 1000, 's');
  const lastMs = Math.max(completedMs, messagesMs ?? 0);
  ctx.figure(
    `${label}: OK → every catch-up message in the outbox`,
    messagesMs === null ? 'none due (the action sends none)' : `${(messagesMs / 1000).toFixed(2)} s (${expectedMessages} messages)`,
  );
  ctx.figure(`${label}: ratio to the bare SQL`, lastMs / bare.ms, '×');
  ctx.figure(
    `${label}: OK → Completed, CPU of PostgreSQL / of Node (web and worker)`,
    `${cpuApp.database.toFixed(2)} / ${cpuApp.node.toFixed(2)}`,
    's',
  );
  const cpuRatio = (cpuApp.database + cpuApp.node) / (cpuBare.database + cpuBare.node);
  ctx.figure(`${label}: ratio of CPU seconds to the bare SQL's`, cpuRatio, '×');
  ctx.figure(`${label}:   of which OK POST (snapshot + queue, until the 303)`, okMs, 'ms');
  ctx.figure(`${label}:   of which waiting for the worker (303 → running, ±20 ms)`, (startedAt ?? okMs) - okMs, 'ms');
  const chunkTimes = chunkEnds.map((c, i) => c.at - (i === 0 ? (startedAt ?? okMs) : chunkEnds[i - 1].at));
  ctx.figure(`${label}: chunk size (BULK_CHUNK_SIZE), progress changes seen (≈ chunks)`, `${t.config.bulkChunkSize}, ${chunkEnds.length}`);
  if (chunkTimes.length > 0) {
    ctx.figure(
      `${label}: time per chunk, median / max (poll resolution 20 ms)`,
      `${median(chunkTimes).toFixed(0)} / ${Math.max(...chunkTimes).toFixed(0)}`,
      'ms',
    );
  }
  for (const s of statements.slice(0, 12)) {
    ctx.figure(`  sql ${s.count}× total ${s.totalMs.toFixed(0)} ms, mean ${(s.totalMs / s.count).toFixed(1)} ms`, s.statement);
  }
  ctx.figure(
    `${label}: final state`,
    `${finished.state}: processed ${finished.processed}/${finished.total}, applied ${finished.applied}, already handled ${finished.already_handled}, failed ${finished.failed}`,
  );
  ctx.figure(
    `${label}: RSS before OK / peak while applying (sampled) / after`,
    `${rssBefore.toFixed(0)} / ${rssPeak.toFixed(0)} / ${rssMb().toFixed(0)}`,
    'MB',
  );

  // The same result as the bare SQL, and every exception handled.
  const [app, reference] = [await outcomeCheck(t, certificationId), await outcomeCheck(t, twin.certificationId)];
  ctx.figure(`${label}: result`, JSON.stringify(app));
  if (JSON.stringify(app) !== JSON.stringify(reference)) {
    throw new Error(`${label}: the bulk action left ${JSON.stringify(app)}, the bare SQL ${JSON.stringify(reference)}`);
  }
  if (finished.state !== 'completed' || finished.applied !== total || app.audit !== total) {
    throw new Error(`${label}: ${finished.state}, applied ${finished.applied} of ${total}, ${app.audit} audit rows`);
  }
  if ((action === 'assign' || action === 'assign_realistic') !== expectedMessages > 0) {
    throw new Error(`${label}: ${expectedMessages} messages written`);
  }
  return { action, total, bulkActionId, completedMs, messagesMs, bareMs: bare.ms, load, finished, cpuRatio, cpuApp, cpuBare };
}

/** What an action left in a certification: exceptions and memberships by status, audit rows, messages by kind. */
async function outcomeCheck(t: TestApp, certificationId: number): Promise<OutcomeCheck> {
  const byKey = async (query: string) =>
    Object.fromEntries((await t.db.query(query, [certificationId])).rows.map((r) => [r.k, r.n])) as Record<string, number>;
  return {
    exceptions: await byKey(
      `select status || ' ' || type as k, count(*)::int as n from exception where certification_id = $1 group by 1 order by 1`,
    ),
    memberships: await byKey(
      `select exception_status || ' ' || (assigned_at is not null) || ' ' || completion_recorded || ' ' || report_state
              || ' due ' || coalesce(round(extract(epoch from due_at - now()) / 86400)::text, '-') as k, count(*)::int as n
         from membership where certification_id = $1 group by 1 order by 1`,
    ),
    audit: Number(
      (await t.db.query(`select count(*)::int as n from exception_audit where certification_id = $1`, [certificationId])).rows[0].n,
    ),
    messages: await byKey(`select kind as k, count(*)::int as n from outbox where certification_id = $1 group by 1 order by 1`),
  };
}

/**
 * The floor a bulk action is measured against: the same set-based statements the action's chunks
 * run (exceptions, memberships and audit rows in one statement; the learners' messages rendered
 * and written in a second), over every open exception of the certification at once, in one
 * transaction, through the app's SqlRunner: no bulk action, no items, no chunks, no queue.
 */
async function bareAction(t: TestApp, action: BulkActionName, certificationId: number, staffId: number): Promise<void> {
  const status = ACTION_STATUS[action];
  const assigns = action !== 'do_not_assign';
  const messages = t.app.get(LearnerMessagesService);
  await inTransaction(t.app.get(EntityManager).fork(), async (db, em) => {
    await db.run(sql`with handled as (
         update exception e
            set status = ${status}, handled_at = now(), handled_by = ${staffId}, reason = 'Benchmark', bulk_action_id = null
           from membership m
          where e.certification_id = ${certificationId} and e.status = 'open' and m.id = e.membership_id and m.removed_at is null
         returning e.id, e.membership_id, m.due_at as due_before
       ), changed as (
         update membership m
            set exception_status = ${status},
                assigned_at = case when ${assigns} then now() else m.assigned_at end,
                due_at = case when ${action === 'assign_realistic'} then ${realisticDueSql(t.config.siteTimeZone)} else m.due_at end,
                completion_recorded = case when ${action === 'dismiss'} then false else m.completion_recorded end
           from handled h, certification c
          where m.id = h.membership_id and c.id = m.certification_id
         returning m.id, m.due_at as due_after
       )
       insert into exception_audit (exception_id, membership_id, certification_id, bulk_action_id, action, reason, staff_id,
                                    status_before, status_after, due_before, due_after)
       select h.id, h.membership_id, ${certificationId}, null, ${action}, 'Benchmark', ${staffId}, 'open', ${status}, h.due_before, changed.due_after
         from handled h join changed on changed.id = h.membership_id`);
    if (action === 'assign' || action === 'assign_realistic') {
      await messages.writeDueWhere(em, sql`m.certification_id = ${certificationId} and m.exception_status = ${status}`);
    }
  });
}

/** 30 timed GETs of each report page; for first and last page, the SQL each request ran. */
async function measurePages(ctx: BenchContext, admin: TestClient, base: string, search: string, state: string) {
  ctx.figure(`load average (1 min) before timing pages ${state}`, loadavg()[0]);
  const pages: Array<[string, string, boolean]> = [
    ['first page', base, true],
    ['last page', `${base}?page=last`, true],
    ['last page sorted by raised desc', `${base}?sort=raised&dir=desc&page=last`, false],
    [`search "${search}" (10 matches)`, `${base}?q=${search}`, false],
  ];
  for (const [label, path, target] of pages) {
    const timer = new StatementTimer();
    if (target) timer.start();
    const durations = await timeRequests(30, () => admin.get(path));
    const statements = await timer.stop();
    ctx.figure(`GET ${label} ${state}, median${target ? ' (target ≤ 50 ms)' : ''}`, median(durations), 'ms');
    ctx.figure(`GET ${label} ${state}, p95`, percentile(durations, 95), 'ms');
    // timeRequests makes 5 warm-up requests, then 30 timed ones: 35 in all.
    for (const s of statements.slice(0, 4)) {
      ctx.figure(`  sql per request ${(s.totalMs / 35).toFixed(2)} ms`, s.statement);
    }
  }
}

/** The report's page query as ExceptionReportService.page builds it (same filter, keyset and order). */
function pageSql(certificationId: number, page: PageQuery) {
  const keyset = keysetSql(SORTS.learner, 'asc', page);
  const filter = filterSql(certificationId, { q: '', type: null });
  return {
    sql: `select e.id, l.first_name, l.last_name, e.learner_id_number, e.type, e.summary, e.raised_at, e.learner_sort_name,
                 e.raised_at::text as raised_key
            from exception e join learner l on l.id = e.learner_id
           where ${filter.text} and ${keyset.where.text}
           order by ${keyset.orderBy.text}
           limit ?`,
    params: [...filter.params, ...keyset.where.params, PAGE_SIZE + 1],
  };
}

/** EXPLAIN (ANALYZE, BUFFERS) of a `?`-placeholder query; its execution time and the indexes it used. */
async function explain(t: TestApp, query: { sql: string; params: unknown[] }) {
  let n = 0;
  const sql = query.sql.replace(/\?/g, () => `$${++n}`);
  const { rows } = await t.db.query(`explain (analyze, buffers, format json) ${sql}`, query.params);
  const plan = rows[0]['QUERY PLAN'][0];
  const indexes = new Set<string>();
  const scans = new Set<string>();
  const walk = (node: any) => {
    if (node['Index Name']) indexes.add(node['Index Name']);
    if (node['Node Type']?.includes('Scan'))
      scans.add(`${node['Node Type']}${node['Relation Name'] ? ' on ' + node['Relation Name'] : ''}`);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  return {
    executionMs: Number(plan['Execution Time'].toFixed(2)),
    index: `${[...scans].join(' + ')}${indexes.size ? ' using ' + [...indexes].join(', ') : ''}`,
  };
}
