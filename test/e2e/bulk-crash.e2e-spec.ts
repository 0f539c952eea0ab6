import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { CertexProcess, startWorker } from '../support/processes';

/**
 * Issue 4's crash test: a worker process is killed (SIGKILL) in the middle of a bulk action over
 * 20,000 exceptions, another worker takes the job over, and the result must be exactly what one
 * clean, uninterrupted run of the same action gives on an identical certification.
 */

const PER_TYPE = 10_000;
const TOTAL = 2 * PER_TYPE;
const CHUNK = 500;
/** The worker is killed inside the chunk after this many items: well inside the run, many chunks to go. */
const KILL_AFTER = 4 * CHUNK;

const FINISHED = ['completed', 'completed_with_failures', 'failed'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a bulk action whose worker is killed mid-way', () => {
  let t: TestApp;
  let admin: TestClient;
  let adminId: number;
  const workers: CertexProcess[] = [];

  beforeAll(async () => {
    // The test process only serves pages and queues jobs; worker processes apply them.
    t = await startTestApp({ PROCESS_ROLE: 'web' });
    adminId = await t.createStaff('ada', 'admin');
    admin = await t.signedIn('ada');
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await t?.close();
  });

  function worker(): CertexProcess {
    const w = startWorker(t.config, { BULK_CHUNK_SIZE: String(CHUNK) });
    workers.push(w);
    return w;
  }

  function fixture(prefix: string): Promise<ExceptionFixture> {
    return createExceptionFixture(t.db, { prefix, counts: { time_allowance: PER_TYPE, duplicate_course: PER_TYPE } });
  }

  /** Select All learners, Assign, Continue → confirmation page → OK; returns the bulk action id. */
  async function assignAll(certificationId: number): Promise<number> {
    const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, { select: 'all', action: 'assign', reason: 'Crash test' });
    expect(cont.status).toBe(303);
    const confirmUrl = (cont.headers.location as string).split('?')[0];
    const page = await admin.get(confirmUrl);
    expect(mainText(page.text)).toContain('This will affect 20,000 learners');
    const ok = await admin.post(confirmUrl, {});
    expect(ok.status).toBe(303);
    return Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
  }

  async function bulkAction(id: number) {
    return (await t.db.query('select state, total, processed, applied, already_handled, failed from bulk_action where id = $1', [id])).rows[0];
  }

  async function waitForState(id: number, states: string[], timeoutMs: number, during: () => string) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await bulkAction(id);
      if (states.includes(row.state)) return row;
      if (Date.now() > deadline) throw new Error(`bulk action ${id} still ${JSON.stringify(row)} after ${timeoutMs} ms\n${during()}`);
      await sleep(100);
    }
  }

  /** What a bulk action left behind, in counts that do not depend on ids or clock times. */
  async function outcomeSummary(certificationId: number, bulkActionId: number) {
    const q = async (sql: string, params: unknown[]) => (await t.db.query(sql, params)).rows;
    return {
      exceptions: await q(
        `select type, status, handled_by, reason, bulk_action_id = $2 as this_action, count(*)::int as n
           from exception where certification_id = $1 group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5`,
        [certificationId, bulkActionId],
      ),
      memberships: await q(
        `select exception_status, assigned_at is not null as assigned, completion_recorded, count(*)::int as n
           from membership where certification_id = $1 group by 1, 2, 3 order by 1, 2, 3`,
        [certificationId],
      ),
      audit: await q(
        `select action, reason, staff_id, status_before, status_after, due_before = due_after as due_unchanged,
                count(*)::int as n, count(distinct exception_id)::int as exceptions
           from exception_audit where certification_id = $1 and bulk_action_id = $2 group by 1, 2, 3, 4, 5, 6`,
        [certificationId, bulkActionId],
      ),
      items: await q(`select outcome, message, count(*)::int as n from bulk_action_item where bulk_action_id = $1 group by 1, 2 order by 1, 2`, [
        bulkActionId,
      ]),
      // One transaction per chunk: every chunk handled CHUNK exceptions at one moment.
      chunkSizes: await q(
        `select n, count(*)::int as chunks from (select handled_at, count(*)::int as n from exception
          where certification_id = $1 and bulk_action_id = $2 group by 1) c group by 1 order by 1`,
        [certificationId, bulkActionId],
      ),
    };
  }

  it('is taken over by a new worker and ends exactly as a clean run: nothing handled twice, no audit row doubled', async () => {
    const started = Date.now();
    // TEST_LOGS=1 prints when each step ended.
    const lap = (label: string) => process.env.TEST_LOGS && process.stdout.write(`bulk-crash: ${label} at ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const first = worker();
    const [a, b] = await Promise.all([fixture('CA'), fixture('CB')]);
    lap('fixtures');

    // To kill the worker inside a chunk that has already changed rows, hold a lock on the membership
    // of one exception of the fifth chunk (chunks go in exception id order): the worker handles
    // four chunks, updates the fifth chunk's exceptions, then waits for this lock, uncommitted.
    const stopAt = [...a.exceptionIds.time_allowance, ...a.exceptionIds.duplicate_course].sort((x, y) => x - y)[KILL_AFTER + CHUNK / 2];
    const locker = await t.db.connect();
    let aId = 0;
    let seen: Record<string, unknown> = {};
    let waiting = '';
    try {
      await locker.query('begin');
      await locker.query('select id from membership where id = (select membership_id from exception where id = $1) for update', [stopAt]);

      aId = await assignAll(a.certificationId);
      await first.ready;
      lap('worker 1 ready');
      const deadline = Date.now() + 30000;
      for (;;) {
        const blocked = await t.db.query(`select query from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`, [first.appName]);
        if (blocked.rowCount) {
          waiting = blocked.rows[0].query;
          break;
        }
        if (Date.now() > deadline) throw new Error(`worker 1 never reached the locked membership: ${JSON.stringify(await bulkAction(aId))}\n${first.output()}`);
        await sleep(5);
      }
      seen = await bulkAction(aId);
      const killed = await first.kill('SIGKILL');
      expect(killed.signal).toBe('SIGKILL');
    } finally {
      await locker.query('rollback');
      locker.release();
    }
    lap(`worker 1 killed at processed ${seen.processed}, waiting in: ${waiting.replace(/\s+/g, ' ').slice(0, 60)}`);
    expect(seen).toMatchObject({ state: 'running', processed: KILL_AFTER, total: TOTAL });
    expect(waiting).toMatch(/^with changed as \(\s+update membership/);

    // Its connections close with it and the chunk it was in the middle of is rolled back: the
    // bulk action stands exactly at the end of the fourth chunk, nothing half done.
    for (let i = 0; (await t.db.query('select 1 from pg_stat_activity where application_name = $1', [first.appName])).rowCount; i++) {
      if (i > 200) throw new Error('the killed worker’s database connections did not go away');
      await sleep(25);
    }
    const atCrash = await t.db.connect();
    let crash: Record<string, number>;
    try {
      await atCrash.query('begin isolation level repeatable read');
      crash = (
        await atCrash.query(
          `select b.processed, b.total, b.state,
                  (select count(*)::int from bulk_action_item i where i.bulk_action_id = b.id and i.outcome is not null) as items_done,
                  (select count(*)::int from exception e where e.certification_id = $2 and e.status <> 'open') as handled,
                  (select count(*)::int from exception_audit x where x.bulk_action_id = b.id) as audits,
                  (select count(*)::int from membership m where m.certification_id = $2 and m.assigned_at is not null) as assigned
             from bulk_action b where b.id = $1`,
          [aId, a.certificationId],
        )
      ).rows[0];
      await atCrash.query('commit');
    } finally {
      atCrash.release();
    }
    lap(`state left by the crash: ${JSON.stringify(crash)}`);
    expect(crash).toEqual({ state: 'running', total: TOTAL, processed: KILL_AFTER, items_done: KILL_AFTER, handled: KILL_AFTER, audits: KILL_AFTER, assigned: KILL_AFTER });

    // A second worker takes the stalled job over once its lock expires, and runs the clean reference.
    const second = worker();
    const bId = await assignAll(b.certificationId);
    await second.ready;
    lap('worker 2 ready');
    const during = () => `worker 1:\n${first.output()}\nworker 2:\n${second.output()}`;
    const cleanRun = await waitForState(bId, FINISHED, 30000, during);
    lap('clean run B completed');
    // Bull moves the killed worker's job back to waiting once its lock (10 s) has expired.
    const resumed = await waitForState(aId, FINISHED, 45000, during);
    lap('resumed run A completed');

    for (const done of [resumed, cleanRun]) {
      expect(done).toEqual({ state: 'completed', total: TOTAL, processed: TOTAL, applied: TOTAL, already_handled: 0, failed: 0 });
    }

    // Every exception of A handled exactly once, by this bulk action, with its membership assigned
    // and its item and audit row written in that same transaction (same now()).
    const perException = (
      await t.db.query(
        `select count(*)::int as exceptions,
                count(*) filter (where e.status = 'open')::int as open,
                count(*) filter (where e.status = 'assigned' and e.handled_by = $3 and e.bulk_action_id = $2)::int as handled_here,
                count(*) filter (where m.exception_status = 'assigned' and m.assigned_at = e.handled_at)::int as membership_assigned_then,
                count(*) filter (where i.outcome = 'applied' and i.processed_at = e.handled_at)::int as item_applied_then,
                count(*) filter (where x.acted_at = e.handled_at and x.due_before = x.due_after and x.due_after = m.due_at)::int as audited_then
           from exception e
           join membership m on m.id = e.membership_id
           left join bulk_action_item i on i.bulk_action_id = $2 and i.exception_id = e.id
           left join exception_audit x on x.bulk_action_id = $2 and x.exception_id = e.id
          where e.certification_id = $1`,
        [a.certificationId, aId, adminId],
      )
    ).rows[0];
    expect(perException).toEqual({
      exceptions: TOTAL,
      open: 0,
      handled_here: TOTAL,
      membership_assigned_then: TOTAL,
      item_applied_then: TOTAL,
      audited_then: TOTAL,
    });
    const audit = (
      await t.db.query(
        `select count(*)::int as n, count(distinct exception_id)::int as exceptions,
                count(*) filter (where bulk_action_id is distinct from $2)::int as other
           from exception_audit where certification_id = $1`,
        [a.certificationId, aId],
      )
    ).rows[0];
    expect(audit).toEqual({ n: TOTAL, exceptions: TOTAL, other: 0 });
    const items = (await t.db.query('select count(*)::int as n, count(outcome)::int as with_outcome from bulk_action_item where bulk_action_id = $1', [aId])).rows[0];
    expect(items).toEqual({ n: TOTAL, with_outcome: TOTAL });

    // The same as the clean run, in totals...
    const [crashed, clean] = [await outcomeSummary(a.certificationId, aId), await outcomeSummary(b.certificationId, bId)];
    expect(crashed).toEqual(clean);
    expect(crashed.chunkSizes).toEqual([{ n: CHUNK, chunks: TOTAL / CHUNK }]);
    expect(crashed.audit).toEqual([
      { action: 'assign', reason: 'Crash test', staff_id: adminId, status_before: 'open', status_after: 'assigned', due_unchanged: true, n: TOTAL, exceptions: TOTAL },
    ]);

    // ...and learner by learner (the n-th learner of A against the n-th learner of B).
    const differences = await t.db.query(
      `with learner_state as (
         select e.certification_id,
                row_number() over (partition by e.certification_id order by l.id_number) as position,
                jsonb_build_object(
                  'type', e.type, 'status', e.status, 'handledBy', e.handled_by, 'reason', e.reason,
                  'membership', m.exception_status, 'assignedAtHandling', m.assigned_at = e.handled_at,
                  'completionRecorded', m.completion_recorded, 'items', i.items, 'audits', x.audits) as state
           from exception e
           join learner l on l.id = e.learner_id
           join membership m on m.id = e.membership_id
           left join lateral (
             select jsonb_agg(jsonb_build_array(outcome, message, processed_at = e.handled_at)) as items
               from bulk_action_item where bulk_action_id in ($3, $4) and exception_id = e.id) i on true
           left join lateral (
             select jsonb_agg(jsonb_build_array(action, reason, staff_id, status_before, status_after, acted_at = e.handled_at,
                                                due_before = due_after, due_after = m.due_at)) as audits
               from exception_audit where exception_id = e.id) x on true
          where e.certification_id in ($1, $2)),
       crashed as (select position, state from learner_state where certification_id = $1),
       clean as (select position, state from learner_state where certification_id = $2)
       select coalesce(crashed.position, clean.position) as position, crashed.state as crashed, clean.state as clean
         from crashed full join clean on clean.position = crashed.position
        where crashed.state is distinct from clean.state
        order by 1 limit 5`,
      [a.certificationId, b.certificationId, aId, bId],
    );
    expect(differences.rows).toEqual([]);
    lap('checked');
  }, 150_000);
});
