import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';
import { CertexProcess, startWorker } from '../support/processes';
import {
  assignedExactlyOnce,
  bulkActionRow,
  BulkActionRow,
  FINISHED,
  holdMembershipOf,
  learnerDifferences,
  nthInChunkOrder,
  outcomeSummary,
  perExceptionSummary,
  sleep,
  startBulkAction,
  waitForState,
  waitUntilBlocked,
} from '../support/bulk';

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

  const assignAll = (certificationId: number) =>
    startBulkAction(admin, certificationId, { action: 'assign', reason: 'Crash test', expectedCount: TOTAL });
  const bulkAction = (id: number) => bulkActionRow(t.db, id);

  it('is taken over by a new worker and ends exactly as a clean run: nothing handled twice, no audit row doubled', async () => {
    const started = Date.now();
    // TEST_LOGS=1 prints when each step ended.
    const lap = (label: string) =>
      process.env.TEST_LOGS && process.stdout.write(`bulk-crash: ${label} at ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const first = worker();
    const [a, b] = await Promise.all([fixture('CA'), fixture('CB')]);
    lap('fixtures');

    // To kill the worker inside a chunk that has already changed rows, hold a lock on the membership
    // of one exception of the fifth chunk (chunks go in exception id order): the worker handles
    // four chunks, updates the fifth chunk's exceptions, then waits for this lock, uncommitted.
    const hold = await holdMembershipOf(t.db, nthInChunkOrder(a.exceptionIds, KILL_AFTER + CHUNK / 2));
    let aId = 0;
    let seen: Partial<BulkActionRow> = {};
    let waiting = '';
    try {
      aId = await assignAll(a.certificationId);
      await first.ready;
      lap('worker 1 ready');
      waiting = await waitUntilBlocked(t.db, first.appName, 30000, () => first.output());
      seen = await bulkAction(aId);
      const killed = await first.kill('SIGKILL');
      expect(killed.signal).toBe('SIGKILL');
    } finally {
      await hold.release();
    }
    lap(`worker 1 killed at processed ${seen.processed}, waiting in: ${waiting.replace(/\s+/g, ' ').slice(0, 60)}`);
    expect(seen).toMatchObject({ state: 'running', processed: KILL_AFTER, total: TOTAL });
    expect(waiting).toMatch(/^with chunk as materialized \(\s+select i\.exception_id as id from bulk_action_item/);

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
    expect(crash).toEqual({
      state: 'running',
      total: TOTAL,
      processed: KILL_AFTER,
      items_done: KILL_AFTER,
      handled: KILL_AFTER,
      audits: KILL_AFTER,
      assigned: KILL_AFTER,
    });

    // A second worker takes the stalled job over once its lock expires, and runs the clean reference.
    const second = worker();
    const bId = await assignAll(b.certificationId);
    await second.ready;
    lap('worker 2 ready');
    const during = () => `worker 1:\n${first.output()}\nworker 2:\n${second.output()}`;
    const cleanRun = await waitForState(t.db, bId, FINISHED, 30000, during);
    lap('clean run B completed');
    // Bull moves the killed worker's job back to waiting once its lock (10 s) has expired.
    const resumed = await waitForState(t.db, aId, FINISHED, 45000, during);
    lap('resumed run A completed');

    for (const done of [resumed, cleanRun]) {
      expect(done).toEqual({ state: 'completed', total: TOTAL, processed: TOTAL, applied: TOTAL, already_handled: 0, failed: 0 });
    }

    // Every exception of A handled exactly once, by this bulk action, with its membership assigned
    // and its item and audit row written in that same transaction (same now()).
    expect(await perExceptionSummary(t.db, a.certificationId, aId, adminId)).toEqual(assignedExactlyOnce(TOTAL));

    // The same as the clean run, in totals...
    // The catch-up messages commit with their chunk, so they are all there once Completed.
    const [crashed, clean] = [await outcomeSummary(t.db, a.certificationId, aId), await outcomeSummary(t.db, b.certificationId, bId)];
    expect(crashed).toEqual(clean);
    expect(crashed.chunkSizes).toEqual([{ n: CHUNK, chunks: TOTAL / CHUNK }]);
    expect(crashed.audit).toEqual([
      {
        action: 'assign',
        reason: 'Crash test',
        staff_id: adminId,
        status_before: 'open',
        status_after: 'assigned',
        due_unchanged: true,
        n: TOTAL,
        exceptions: TOTAL,
      },
    ]);

    // ...and learner by learner (the n-th learner of A against the n-th learner of B).
    expect(
      await learnerDifferences(
        t.db,
        { certificationId: a.certificationId, bulkActionId: aId },
        { certificationId: b.certificationId, bulkActionId: bId },
      ),
    ).toEqual([]);
    lap('checked');
  }, 150_000);
});
