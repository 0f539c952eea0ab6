import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';
import { CertexProcess, startWorker } from '../support/processes';
import {
  assignedExactlyOnce,
  bulkJob,
  FINISHED,
  Hold,
  holdInTransaction,
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
 * PostgreSQL ends the worker's connections (pg_terminate_backend, as a failover, an idle-session
 * killer or an administrator does) while the worker is inside a chunk's transaction, once while it
 * changes memberships and once while it writes the chunk's catch-up messages. Each time the transaction rolls back,
 * the same worker process tries the job again and redoes it, and the action ends exactly as a
 * clean run of the same action on an identical certification. The worker's pool then works on: a
 * later bulk action, started after its idle connections were terminated too, runs at its first attempt.
 */

const PER_TYPE = 1500;
const TOTAL = 2 * PER_TYPE;
const CHUNK = 100;
/** Chunks done before the fault: the held lock is in the next chunk. */
const DONE_BEFORE = 4 * CHUNK;
/** Chunks done before the second fault: the held message is in the next chunk. */
const MESSAGES_BEFORE = 15 * CHUNK;
const TERMINATED = /terminating connection due to administrator command/;

describe('a bulk action whose worker connections PostgreSQL terminates mid-transaction', () => {
  let t: TestApp;
  let admin: TestClient;
  let adminId: number;
  let worker: CertexProcess;

  beforeAll(async () => {
    // The test process serves pages and queues jobs; the worker process applies them.
    t = await startTestApp({ PROCESS_ROLE: 'web' });
    adminId = await t.createStaff('ada', 'admin');
    admin = await t.signedIn('ada');
    worker = startWorker(t.config, { BULK_CHUNK_SIZE: String(CHUNK) });
  });

  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await t?.close();
  });

  const fixture = (prefix: string): Promise<ExceptionFixture> =>
    createExceptionFixture(t.db, { prefix, counts: { time_allowance: PER_TYPE, duplicate_course: PER_TYPE } });
  const assignAll = (certificationId: number) =>
    startBulkAction(admin, certificationId, { action: 'assign', reason: 'Terminate test', expectedCount: TOTAL });
  const job = (id: number) => bulkJob(t.db, t.config.redisUrl, t.config.redisPrefix, id);
  /** Waits until a worker connection waits for this hold's lock; returns its statement. */
  const blockedBy = (hold: Hold) => waitUntilBlocked(t.db, worker.appName, 30000, () => worker.output(), 1, hold);

  /** Ends every connection the worker holds; returns how many there were. */
  async function terminateWorkerConnections(): Promise<number> {
    const ended = await t.db.query(`select pg_terminate_backend(pid) as ended from pg_stat_activity where application_name = $1`, [
      worker.appName,
    ]);
    expect(ended.rows.every((r) => r.ended)).toBe(true);
    for (let i = 0; (await t.db.query('select 1 from pg_stat_activity where application_name = $1', [worker.appName])).rowCount; i++) {
      if (i > 200) throw new Error('the terminated connections did not go away');
      await sleep(25);
    }
    return ended.rowCount!;
  }

  /** Where the bulk action stands, in one snapshot. */
  async function progress(bulkActionId: number, certificationId: number) {
    return (
      await t.db.query(
        `select b.processed, b.state,
                (select count(*)::int from bulk_action_item i where i.bulk_action_id = b.id and i.outcome is not null) as items_done,
                (select count(*)::int from exception e where e.certification_id = $2 and e.status <> 'open') as handled,
                (select count(*)::int from exception_audit x where x.bulk_action_id = b.id) as audits,
                (select count(*)::int from membership m where m.certification_id = $2 and m.assigned_at is not null) as assigned,
                (select count(distinct membership_id)::int from outbox o where o.certification_id = $2) as messaged
           from bulk_action b where b.id = $1`,
        [bulkActionId, certificationId],
      )
    ).rows[0];
  }

  it('rolls back and redoes a chunk, its catch-up messages with it, without a restart, and ends as a clean run; the pool then serves a later job', async () => {
    const [a, b] = await Promise.all([fixture('TA'), fixture('TB')]);
    await worker.ready;
    const pid = worker.pid;

    // Two holds: the membership of an exception of the fifth chunk (the worker handles four chunks,
    // updates the fifth chunk's exceptions, then waits for this lock inside the chunk's transaction),
    // and, uncommitted, the enrolment message of a learner of the sixteenth chunk (the worker changes
    // that chunk's memberships, then waits on this message's key while writing the chunk's messages).
    const chunkHold = await holdMembershipOf(t.db, nthInChunkOrder(a.exceptionIds, DONE_BEFORE + CHUNK / 2));
    const messageHold = await holdInTransaction(
      t.db,
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html)
       select 'enrolment:' || m.id || ':' || m.cycle, 'held', 'enrolment', 'held@example.org', 'held', 'held', 'held'
         from exception e join membership m on m.id = e.membership_id where e.id = $1`,
      [nthInChunkOrder(a.exceptionIds, MESSAGES_BEFORE + CHUNK / 2)],
    );
    let aId = 0;
    try {
      aId = await assignAll(a.certificationId);
      expect(await blockedBy(chunkHold)).toMatch(/^with chunk as materialized \(\s+select i\.exception_id as id from bulk_action_item/);
      expect(await terminateWorkerConnections()).toBeGreaterThanOrEqual(1);
      // The chunk in the middle of its transaction is rolled back: the bulk action stands exactly
      // at the end of the fourth chunk, nothing half done, the messages of those chunks committed with them.
      expect(await progress(aId, a.certificationId)).toEqual({
        state: 'running',
        processed: DONE_BEFORE,
        items_done: DONE_BEFORE,
        handled: DONE_BEFORE,
        audits: DONE_BEFORE,
        assigned: DONE_BEFORE,
        messaged: DONE_BEFORE,
      });
      // Bull tries the job again (after its backoff) in the same worker, on new connections, and
      // the fifth chunk is redone from its start: it reaches the held lock again.
      expect(await blockedBy(chunkHold)).toMatch(/^with chunk as materialized \(\s+select i\.exception_id as id from bulk_action_item/);
      expect(await job(aId)).toMatchObject({ state: 'active', attemptsMade: 1, failedReason: expect.stringMatching(TERMINATED) });
      await chunkHold.release();

      // The sixteenth chunk writes its learners' messages and waits on the held one. (Just after
      // the release, the worker may still be seen waiting for the membership: only a wait for the
      // held message counts.) Its transaction rolls back with the memberships it changed.
      expect(await blockedBy(messageHold)).toMatch(/^\s*insert into outbox/);
      expect(await terminateWorkerConnections()).toBeGreaterThanOrEqual(1);
      expect(await progress(aId, a.certificationId)).toEqual({
        state: 'running',
        processed: MESSAGES_BEFORE,
        items_done: MESSAGES_BEFORE,
        handled: MESSAGES_BEFORE,
        audits: MESSAGES_BEFORE,
        assigned: MESSAGES_BEFORE,
        messaged: MESSAGES_BEFORE,
      });
      // The job's next attempt redoes that chunk, and waits on the held message again.
      expect(await blockedBy(messageHold)).toMatch(/^\s*insert into outbox/);
      expect(await job(aId)).toMatchObject({ state: 'active', attemptsMade: 2, failedReason: expect.stringMatching(TERMINATED) });
    } finally {
      await Promise.all([chunkHold.release(), messageHold.release()]);
    }
    for (let i = 0; (await job(aId))?.state !== 'completed'; i++) {
      if (i > 100) throw new Error(`the job of bulk action ${aId} is not completed: ${JSON.stringify(await job(aId))}\n${worker.output()}`);
      await sleep(100);
    }

    // The worker's idle connections are ended too; the clean reference run then goes through its
    // pool at the first attempt.
    expect(await terminateWorkerConnections()).toBeGreaterThanOrEqual(1);
    const bId = await assignAll(b.certificationId);
    expect(await waitForState(t.db, bId, FINISHED, 30000, () => worker.output())).toMatchObject({ state: 'completed', processed: TOTAL });
    for (let i = 0; (await job(bId))?.state !== 'completed'; i++) {
      if (i > 100) throw new Error(`the job of bulk action ${bId} is not completed: ${JSON.stringify(await job(bId))}\n${worker.output()}`);
      await sleep(100);
    }
    expect(await job(bId)).toEqual({ state: 'completed', attemptsMade: 0, failedReason: null });

    expect(await progress(aId, a.certificationId)).toEqual(await progress(bId, b.certificationId));
    expect(await perExceptionSummary(t.db, a.certificationId, aId, adminId)).toEqual(assignedExactlyOnce(TOTAL));
    const [faulted, clean] = [await outcomeSummary(t.db, a.certificationId, aId), await outcomeSummary(t.db, b.certificationId, bId)];
    expect(faulted).toEqual(clean);
    expect(faulted.chunkSizes).toEqual([{ n: CHUNK, chunks: TOTAL / CHUNK }]);
    expect(
      await learnerDifferences(
        t.db,
        { certificationId: a.certificationId, bulkActionId: aId },
        { certificationId: b.certificationId, bulkActionId: bId },
      ),
    ).toEqual([]);

    expect({ pid: worker.pid, alive: worker.alive }).toEqual({ pid, alive: true });
  }, 90_000);
});
