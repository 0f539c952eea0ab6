import Bull from 'bull';
import type { Pool, PoolClient } from 'pg';
import { mainText, TestClient } from './app';
import { BULK_ACTIONS_QUEUE, bulkJobId } from '../../src/jobs/queues';

/**
 * Helpers of the bulk action fault tests (a worker killed, Redis restarted, connections
 * terminated): start an action as a person does, hold one of its chunks, wait for it, and compare
 * what it left with a clean run of the same action on an identical certification.
 */

export const FINISHED = ['completed', 'completed_with_failures', 'failed'];

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Select All learners, the action, Continue → confirmation page → OK; returns the bulk action id. */
export async function startBulkAction(
  admin: TestClient,
  certificationId: number,
  options: { action: string; reason: string; expectedCount: number },
): Promise<number> {
  const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, {
    select: 'all',
    action: options.action,
    reason: options.reason,
  });
  expect(cont.status).toBe(303);
  const confirmUrl = cont.headers.location.split('?')[0];
  const page = await admin.get(confirmUrl);
  expect(mainText(page.text)).toContain(`This will affect ${options.expectedCount.toLocaleString('en-GB')} learners`);
  const ok = await admin.post(confirmUrl, {});
  expect(ok.status).toBe(303);
  return Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
}

export interface BulkActionRow {
  state: string;
  total: number;
  processed: number;
  applied: number;
  already_handled: number;
  failed: number;
}

export async function bulkActionRow(db: Pool, id: number): Promise<BulkActionRow> {
  return (await db.query('select state, total, processed, applied, already_handled, failed from bulk_action where id = $1', [id])).rows[0];
}

export async function waitForState(
  db: Pool,
  id: number,
  states: string[],
  timeoutMs: number,
  during: () => string,
): Promise<BulkActionRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await bulkActionRow(db, id);
    if (states.includes(row.state)) return row;
    if (Date.now() > deadline) throw new Error(`bulk action ${id} still ${JSON.stringify(row)} after ${timeoutMs} ms\n${during()}`);
    await sleep(100);
  }
}

/** The id of a bulk action's job in Redis, named by the action's job key. */
export async function bulkJobIdOf(db: Pool, bulkActionId: number): Promise<string> {
  const { rows } = await db.query('select job_key from bulk_action where id = $1', [bulkActionId]);
  if (!rows[0]) throw new Error(`no bulk action ${bulkActionId}`);
  return bulkJobId(rows[0].job_key);
}

/** A bulk action's job as Bull keeps it in Redis (null when Redis has no such job). */
export async function bulkJob(db: Pool, redisUrl: string, prefix: string, bulkActionId: number) {
  const jobId = await bulkJobIdOf(db, bulkActionId);
  const queue = new Bull(BULK_ACTIONS_QUEUE, { redis: redisUrl, prefix });
  try {
    const job = await queue.getJob(jobId);
    return job && { state: await job.getState(), attemptsMade: job.attemptsMade, failedReason: job.failedReason ?? null };
  } finally {
    await queue.close();
  }
}

/** The n-th exception of a fixture in the order chunks take them (exception id order). */
export function nthInChunkOrder(exceptionIds: Record<string, number[]>, n: number): number {
  return Object.values(exceptionIds)
    .flat()
    .sort((x, y) => x - y)[n];
}

/**
 * Runs a statement in a transaction of its own and keeps that transaction open, holding the row
 * locks it took, until `release` rolls it back.
 */
export interface Hold {
  /** The backend holding the locks, to tell which hold a blocked statement waits for. */
  pid: number;
  release(): Promise<void>;
}

export async function holdInTransaction(db: Pool, sql: string, params: unknown[]): Promise<Hold> {
  const locker: PoolClient = await db.connect();
  let pid: number;
  try {
    await locker.query('begin');
    pid = (await locker.query('select pg_backend_pid() as pid')).rows[0].pid;
    await locker.query(sql, params);
  } catch (error) {
    locker.release(true);
    throw error;
  }
  let released = false;
  return {
    pid,
    async release() {
      if (released) return;
      released = true;
      try {
        await locker.query('rollback');
      } finally {
        locker.release();
      }
    },
  };
}

/**
 * Locks the membership of one exception, so that the worker that reaches it waits there inside
 * its chunk's transaction, with the chunk's exceptions already updated and not committed.
 */
export function holdMembershipOf(db: Pool, exceptionId: number): Promise<Hold> {
  return holdInTransaction(db, 'select id from membership where id = (select membership_id from exception where id = $1) for update', [
    exceptionId,
  ]);
}

/**
 * Waits until `count` connections of this application_name wait for a lock; returns the query
 * the first one runs. With `by`, only a wait for that hold counts: a connection still seen waiting
 * for another hold an instant after its release does not.
 */
export async function waitUntilBlocked(
  db: Pool,
  appName: string,
  timeoutMs: number,
  during: () => string,
  count = 1,
  by?: Hold,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const blocked = await db.query(
      `select query from pg_stat_activity
        where application_name = $1 and wait_event_type = 'Lock' and ($2::int is null or $2::int = any(pg_blocking_pids(pid)))`,
      [appName, by?.pid ?? null],
    );
    if (blocked.rowCount! >= count) return blocked.rows[0].query;
    if (Date.now() > deadline) {
      const waiting = await db.query(
        `select query, wait_event_type, pg_blocking_pids(pid) as blockers from pg_stat_activity where application_name = $1`,
        [appName],
      );
      throw new Error(
        `${appName} never waited for the held lock${by ? ` of backend ${by.pid}` : ''}; its connections: ${JSON.stringify(waiting.rows)}\n${during()}`,
      );
    }
    await sleep(5);
  }
}

/**
 * Every exception of the certification handled exactly once by this bulk action, its membership,
 * item and audit row written in the same transaction (same now()). Equal to `exactlyOnce(total)`
 * when nothing was applied twice or left out.
 */
export async function perExceptionSummary(db: Pool, certificationId: number, bulkActionId: number, staffId: number) {
  const perException = (
    await db.query(
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
      [certificationId, bulkActionId, staffId],
    )
  ).rows[0];
  const audit = (
    await db.query(
      `select count(*)::int as n, count(distinct exception_id)::int as exceptions,
              count(*) filter (where bulk_action_id is distinct from $2)::int as other
         from exception_audit where certification_id = $1`,
      [certificationId, bulkActionId],
    )
  ).rows[0];
  const items = (
    await db.query('select count(*)::int as n, count(outcome)::int as with_outcome from bulk_action_item where bulk_action_id = $1', [
      bulkActionId,
    ])
  ).rows[0];
  return { perException, audit, items };
}

/** What `perExceptionSummary` gives for an Assign of `total` open exceptions, each applied once. */
export function assignedExactlyOnce(total: number) {
  return {
    perException: {
      exceptions: total,
      open: 0,
      handled_here: total,
      membership_assigned_then: total,
      item_applied_then: total,
      audited_then: total,
    },
    audit: { n: total, exceptions: total, other: 0 },
    items: { n: total, with_outcome: total },
  };
}

/** Whether to compare the learners' catch-up messages too (each chunk writes its learners' messages). */
export interface Compare {
  messages: boolean;
}

/** What a bulk action left behind, in counts that do not depend on ids or clock times. */
export async function outcomeSummary(db: Pool, certificationId: number, bulkActionId: number, compare: Compare = { messages: true }) {
  const q = async (sql: string, params: unknown[]) => (await db.query(sql, params)).rows;
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
    items: await q(
      `select outcome, message, count(*)::int as n from bulk_action_item where bulk_action_id = $1 group by 1, 2 order by 1, 2`,
      [bulkActionId],
    ),
    // The catch-up messages (DOMAIN.md §4) the action wrote for the learners it assigned.
    messages: compare.messages
      ? await q(`select kind, state, count(*)::int as n from outbox where certification_id = $1 group by 1, 2 order by 1, 2`, [
          certificationId,
        ])
      : 'not compared',
    // One transaction per chunk: every chunk handled a whole chunk of exceptions at one moment.
    chunkSizes: await q(
      `select n, count(*)::int as chunks from (select handled_at, count(*)::int as n from exception
        where certification_id = $1 and bulk_action_id = $2 group by 1) c group by 1 order by 1`,
      [certificationId, bulkActionId],
    ),
  };
}

/**
 * Learner by learner, the n-th learner of the faulted run against the n-th learner of the clean
 * run (by ID number): the first few whose exception, membership, item, audit or message rows differ.
 */
export async function learnerDifferences(
  db: Pool,
  faulted: { certificationId: number; bulkActionId: number },
  clean: { certificationId: number; bulkActionId: number },
  compare: Compare = { messages: true },
) {
  const result = await db.query(
    `with messages as (
       select membership_id, jsonb_agg(jsonb_build_array(kind, state) order by kind) as messages
         from outbox
        where $5 and membership_id in (select membership_id from exception where certification_id in ($1, $2))
        group by membership_id),
     learner_state as (
       select e.certification_id,
              row_number() over (partition by e.certification_id order by l.id_number) as position,
              jsonb_build_object(
                'type', e.type, 'status', e.status, 'handledBy', e.handled_by, 'reason', e.reason,
                'membership', m.exception_status, 'assignedAtHandling', m.assigned_at = e.handled_at,
                'completionRecorded', m.completion_recorded, 'items', i.items, 'audits', x.audits, 'messages', o.messages) as state
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
         left join messages o on o.membership_id = e.membership_id
        where e.certification_id in ($1, $2)),
     faulted as (select position, state from learner_state where certification_id = $1),
     clean as (select position, state from learner_state where certification_id = $2)
     select coalesce(faulted.position, clean.position) as position, faulted.state as faulted, clean.state as clean
       from faulted full join clean on clean.position = faulted.position
      where faulted.state is distinct from clean.state
      order by 1 limit 5`,
    [faulted.certificationId, clean.certificationId, faulted.bulkActionId, clean.bulkActionId, compare.messages],
  );
  return result.rows;
}
