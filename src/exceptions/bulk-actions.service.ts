import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { intArray, textArray } from '../common/sql';
import { LearnerMessagesService } from '../notifications/learner-messages.service';
import { CERTIFICATION_LOCK_CLASS as SYNC_LOCK_CLASS } from '../database/locks';
import { ACTION_STATUS, ActionName, BulkActionName, fittingTypes, refusal } from './exception-rules';
import { ExceptionReportService, REALISTIC_DUE_SQL, selectionSql } from './exception-report.service';
import { Draft } from './bulk-action-drafts.service';
import { ALREADY_OPEN, reopenRefusalSql } from './reopen-rules';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, bulkJobId } from './bulk-actions.constants';

export type BulkState = 'queued' | 'running' | 'completed' | 'completed_with_failures' | 'failed';

export const STATE_LABELS: Record<BulkState, string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  completed_with_failures: 'Completed with failures',
  failed: 'Failed',
};

export interface BulkActionStatus {
  id: number;
  certificationId: number;
  certificationName: string;
  action: ActionName;
  /** For a reopening: the bulk action whose exceptions it reopens. */
  reopensBulkActionId: number | null;
  reason: string | null;
  selectionLabel: string;
  createdByName: string;
  createdAt: Date;
  state: BulkState;
  total: number;
  processed: number;
  applied: number;
  alreadyHandled: number;
  failed: number;
  finishedAt: Date | null;
  error: string | null;
}

/** The selection changed between the confirmation page and OK so that the action no longer fits. */
export class SelectionRefused extends Error {}

@Injectable()
export class BulkActionsService {
  private readonly logger = new Logger(BulkActionsService.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly report: ExceptionReportService,
    @InjectQueue(BULK_ACTIONS_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly learnerMessages: LearnerMessagesService,
  ) {}

  /**
   * OK: uses the draft once, snapshots the selected exceptions into a bulk action and queues it.
   * A second OK for the same draft returns the bulk action the first one made.
   */
  async confirm(draft: Draft): Promise<number> {
    const id = await this.em.transactional(async (em) => {
      const conn = em.getConnection();
      const trx = em.getTransactionContext();
      const q = (sql: string, params: unknown[] = []) => conn.execute(sql, params as any[], 'all', trx);
      const [claimed] = await q(`update bulk_action_draft set used_at = now() where token = ? and used_at is null returning token`, [
        draft.token,
      ]);
      if (!claimed) {
        const [existing] = await q(`select bulk_action_id from bulk_action_draft where token = ? for update`, [draft.token]);
        return existing?.bulk_action_id === null || existing === undefined ? null : Number(existing.bulk_action_id);
      }
      // The lock of the chunks and of membership sync: the selection is counted and snapshotted
      // while nothing else changes this certification's exceptions.
      await q('select pg_advisory_xact_lock(?, ?)', [SYNC_LOCK_CLASS, draft.certificationId]);
      const where = selectionSql(draft.certificationId, draft.selection);
      let fitting = '';
      const fittingParams: unknown[] = [];
      if (draft.action !== 'reopen') {
        const summary = await this.report.summarise(draft.certificationId, draft.selection);
        const problem = refusal(draft.action, summary.countsByType);
        if (problem) throw new SelectionRefused(problem);
        if (summary.foreign > 0) throw new SelectionRefused('Some selected exceptions do not belong to this certification.');
        fitting = 'and e.type = any(?::text[])';
        fittingParams.push(textArray(fittingTypes(draft.action)));
      }
      const reopens = draft.selection.mode === 'handled_by' ? draft.selection.bulkActionId : null;
      const [action] = await q(
        `insert into bulk_action (certification_id, action, reason, selection_label, created_by, reopens_bulk_action_id)
         values (?, ?, ?, ?, ?, ?) returning id`,
        [draft.certificationId, draft.action, draft.reason, draft.selection.label, draft.createdBy, reopens],
      );
      const items = await q(
        `with snapshot as (
           insert into bulk_action_item (bulk_action_id, exception_id)
           select ?, e.id from exception e where ${where.sql} ${fitting}
           returning 1)
         select count(*)::int as n from snapshot`,
        [action.id, ...where.params, ...fittingParams],
      );
      await q(`update bulk_action set total = ? where id = ?`, [items[0].n, action.id]);
      // Fresh statistics, so that each chunk's statements plan for the rows the snapshot added.
      if (items[0].n > 1000) await q(`analyze bulk_action_item`);
      await q(`update bulk_action_draft set bulk_action_id = ? where token = ?`, [action.id, draft.token]);
      return Number(action.id);
    });
    if (id === null) throw new SelectionRefused('This confirmation has already been used.');
    await this.enqueue(id);
    return id;
  }

  /** Queues a bulk action's job; the job id makes a repeated call harmless. */
  async enqueue(bulkActionId: number, jobKey?: string): Promise<void> {
    const key =
      jobKey ?? (await this.em.getConnection().execute(`select job_key from bulk_action where id = ?`, [bulkActionId]))[0]?.job_key;
    if (!key) throw new Error(`bulk action ${bulkActionId} does not exist`);
    await this.queue.add(
      BULK_APPLY_JOB,
      { bulkActionId },
      { jobId: bulkJobId(key), attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false },
    );
  }

  /**
   * Applies a bulk action chunk by chunk until every item has an outcome. Each chunk is one
   * transaction; after a crash the job runs again and carries on with the items left.
   */
  @CreateRequestContext()
  async run(bulkActionId: number, onProgress?: (processed: number, total: number) => Promise<void>): Promise<BulkActionStatus | null> {
    const conn = this.em.getConnection();
    const [started] = await conn.execute(
      `update bulk_action set state = 'running', started_at = coalesce(started_at, now())
        where id = ? and state in ('queued', 'running') returning id, total`,
      [bulkActionId],
    );
    if (!started) {
      // The job failed after the last chunk, while writing the catch-up messages (a lost database
      // connection, say), and runs again: the action is Completed, but its messages still need writing.
      const status = await this.status(bulkActionId);
      if (status?.state === 'completed' || status?.state === 'completed_with_failures') await this.writeCatchUpMessages(bulkActionId);
      return status;
    }
    for (;;) {
      const done = await this.applyChunk(bulkActionId);
      if (done === 0) break;
      if (onProgress) {
        const status = await this.status(bulkActionId);
        if (status) await onProgress(status.processed, status.total);
      }
    }
    await conn.execute(
      `update bulk_action
          set state = case when failed > 0 then 'completed_with_failures' else 'completed' end, finished_at = now()
        where id = ? and state = 'running'`,
      [bulkActionId],
    );
    await this.writeCatchUpMessages(bulkActionId);
    return this.status(bulkActionId);
  }

  /**
   * Learners assigned by Assign or a realistic due date get the messages they missed (DOMAIN.md
   * §4), written in this run, chunk by chunk. Message keys make this safe to repeat, and the
   * scheduled sweep writes anything a crash left out.
   */
  private async writeCatchUpMessages(bulkActionId: number): Promise<void> {
    const conn = this.em.getConnection();
    const [action] = await conn.execute(`select action from bulk_action where id = ?`, [bulkActionId]);
    if (action?.action !== 'assign' && action?.action !== 'assign_realistic') return;
    let after = 0;
    for (;;) {
      const rows = await conn.execute(
        `select i.exception_id, e.membership_id from bulk_action_item i join exception e on e.id = i.exception_id
          where i.bulk_action_id = ? and i.outcome = 'applied' and i.exception_id > ?
          order by i.exception_id limit ?`,
        [bulkActionId, after, this.config.bulkChunkSize],
      );
      if (rows.length === 0) return;
      after = Number(rows[rows.length - 1].exception_id);
      const membershipIds = rows.map((r: any) => Number(r.membership_id));
      await this.em.fork().transactional((em) => this.learnerMessages.writeDueFor(em, membershipIds));
    }
  }

  /** Marks a bulk action failed once its job has given up. */
  async markFailed(bulkActionId: number, error: string): Promise<void> {
    await this.em
      .fork()
      .getConnection()
      .execute(`update bulk_action set state = 'failed', finished_at = now(), error = ? where id = ? and state in ('queued', 'running')`, [
        error.slice(0, 500),
        bulkActionId,
      ]);
  }

  /** One chunk in one transaction; the number of items it gave an outcome (0 when none were left). */
  private async applyChunk(bulkActionId: number): Promise<number> {
    return this.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const trx = em.getTransactionContext();
      const q: ChunkQuery = (sql, params = []) => conn.execute(sql, params as any[], 'all', trx);
      const [action] = await q(
        `select id, certification_id, action, reason, created_by, reopens_bulk_action_id
           from bulk_action where id = ? and state = 'running' for update`,
        [bulkActionId],
      );
      if (!action) return 0;
      // Serialised with membership sync of the same certification, which also changes memberships.
      await q('select pg_advisory_xact_lock(?, ?)', [SYNC_LOCK_CLASS, action.certification_id]);
      const chunk = (
        await q(`select exception_id from bulk_action_item where bulk_action_id = ? and outcome is null order by exception_id limit ?`, [
          bulkActionId,
          this.config.bulkChunkSize,
        ])
      ).map((r: any) => Number(r.exception_id));
      if (chunk.length === 0) return 0;

      const chunkAction: ChunkAction = {
        id: bulkActionId,
        certificationId: action.certification_id,
        name: action.action,
        reason: action.reason,
        staffId: action.created_by,
        reopens: action.reopens_bulk_action_id === null ? null : Number(action.reopens_bulk_action_id),
      };
      const applied = chunkAction.name === 'reopen' ? await reopenChunk(q, chunkAction, chunk) : await handleChunk(q, chunkAction, chunk);

      // Every item of the chunk gets its outcome: applied, already handled, or failed with why.
      const refusalSql =
        chunkAction.name === 'reopen'
          ? `coalesce(${reopenRefusalSql('?::bigint')}, 'The exception could not be reopened')`
          : `case when m.removed_at is not null then 'The learner is no longer in this certification'
                  else 'The exception could not be handled' end`;
      const refusalParams = chunkAction.name === 'reopen' ? [chunkAction.reopens, chunkAction.reopens] : [];
      const alreadyDone = chunkAction.name === 'reopen' ? `e.status = 'open'` : `e.status <> 'open'`;
      const outcomes = await q(
        `with outcome as (
           select e.id,
                  case when e.id = any(?::bigint[]) then 'applied'
                       when e.certification_id <> ? then 'failed'
                       when ${alreadyDone} then 'already_handled'
                       else 'failed' end as outcome,
                  case when e.id = any(?::bigint[]) then null
                       when e.certification_id <> ? then 'The exception belongs to another certification'
                       when ${alreadyDone} then null
                       else ${refusalSql} end as message
             from exception e join membership m on m.id = e.membership_id
            where e.id = any(?::bigint[]))
         update bulk_action_item i set outcome = o.outcome, message = o.message, processed_at = now()
           from outcome o
          where i.bulk_action_id = ? and i.exception_id = any(?::bigint[]) and i.exception_id = o.id
        returning i.outcome`,
        [
          intArray(applied),
          chunkAction.certificationId,
          intArray(applied),
          chunkAction.certificationId,
          ...refusalParams,
          intArray(chunk),
          bulkActionId,
          intArray(chunk),
        ],
      );
      const count = (kind: string) => outcomes.filter((r: any) => r.outcome === kind).length;
      await q(
        `update bulk_action set processed = processed + ?, applied = applied + ?, already_handled = already_handled + ?,
                failed = failed + ? where id = ?`,
        [outcomes.length, count('applied'), count('already_handled'), count('failed'), bulkActionId],
      );
      return outcomes.length;
    });
  }

  async status(bulkActionId: number): Promise<BulkActionStatus | null> {
    const [row] = await this.em.getConnection().execute(
      `select b.*, c.full_name as certification_name, s.display_name as created_by_name
         from bulk_action b join certification c on c.id = b.certification_id join staff s on s.id = b.created_by
        where b.id = ?`,
      [bulkActionId],
    );
    return row ? toStatus(row) : null;
  }

  async failures(bulkActionId: number, limit = 100) {
    return this.em.getConnection().execute(
      `select l.first_name as "firstName", l.last_name as "lastName", l.id_number as "idNumber", i.message
         from bulk_action_item i join exception e on e.id = i.exception_id join learner l on l.id = e.learner_id
        where i.bulk_action_id = ? and i.outcome = 'failed'
        order by e.learner_sort_name, e.id limit ?`,
      [bulkActionId, limit],
    );
  }

  /** This certification's bulk actions still queued or running, oldest first. */
  async unfinished(certificationId: number): Promise<BulkActionStatus[]> {
    const rows = await this.em.getConnection().execute(
      `select b.*, c.full_name as certification_name, s.display_name as created_by_name
         from bulk_action b join certification c on c.id = b.certification_id join staff s on s.id = b.created_by
        where b.certification_id = ? and b.state in ('queued', 'running')
        order by b.id limit 5`,
      [certificationId],
    );
    return rows.map(toStatus);
  }

  /** Newest first, keyset paged on (created_at, id). */
  async list(beforeId: number | null, limit: number): Promise<BulkActionStatus[]> {
    const rows = await this.em.getConnection().execute(
      `select b.*, c.full_name as certification_name, s.display_name as created_by_name
         from bulk_action b join certification c on c.id = b.certification_id join staff s on s.id = b.created_by
        where (?::bigint is null or b.id < ?)
        order by b.id desc limit ?`,
      [beforeId, beforeId, limit + 1],
    );
    return rows.map(toStatus);
  }

  /**
   * Bulk actions still queued or running whose job was lost (Redis restarted without its data) or
   * given up by Bull: queue them again. Runs every minute, and when Redis comes back after an
   * outage; a job that is alive is left alone. Bulk actions younger than `minAgeSeconds` are left
   * to the request that is queueing them.
   */
  async requeueUnfinished(minAgeSeconds = 30): Promise<number> {
    const rows = await this.em
      .fork()
      .getConnection()
      .execute(
        `select id, job_key from bulk_action where state in ('queued', 'running') and created_at <= now() - make_interval(secs => ?)`,
        [minAgeSeconds],
      );
    for (const row of rows) {
      const id = Number(row.id);
      // A job Bull gave up on after stalling too often (repeated worker crashes) is retried: the
      // bulk action carries on with the items it has left.
      const job = await this.queue.getJob(bulkJobId(row.job_key));
      if (job && (await job.isFailed())) await job.retry();
      else if (job && (await job.isCompleted())) await job.remove().then(() => this.enqueue(id, row.job_key));
      else await this.enqueue(id, row.job_key);
    }
    if (rows.length) this.logger.log(`re-queued ${rows.length} unfinished bulk actions`);
    return rows.length;
  }
}

type ChunkQuery = (sql: string, params?: unknown[]) => Promise<any[]>;

interface ChunkAction {
  id: number;
  certificationId: number;
  name: ActionName;
  reason: string | null;
  staffId: number;
  reopens: number | null;
}

/**
 * One of the four actions on a chunk: only exceptions still open, of this certification, whose
 * learner is still a member. Returns the exceptions it handled.
 */
async function handleChunk(q: ChunkQuery, action: ChunkAction, chunk: number[]): Promise<number[]> {
  const name = action.name as BulkActionName;
  const status = ACTION_STATUS[name];
  const handled = await q(
    `update exception e
        set status = ?, handled_at = now(), handled_by = ?, reason = ?, bulk_action_id = ?
      where e.id = any(?::bigint[]) and e.certification_id = ? and e.status = 'open'
        and exists (select 1 from membership m where m.id = e.membership_id and m.removed_at is null)
    returning e.id, e.membership_id`,
    [status, action.staffId, action.reason, action.id, intArray(chunk), action.certificationId],
  );
  const exceptionIds = handled.map((r) => Number(r.id));
  const membershipIds = handled.map((r) => Number(r.membership_id));
  if (handled.length === 0) return exceptionIds;
  const assigns = name === 'assign' || name === 'assign_realistic' || name === 'dismiss';
  await q(
    `with changed as (
       update membership m
          set exception_status = ?,
              assigned_at = case when ? then now() else m.assigned_at end,
              due_at = case when ? then ${REALISTIC_DUE_SQL} else m.due_at end,
              completion_recorded = case when ? then false else m.completion_recorded end
         from membership prev, certification c
        where m.id = any(?::int[]) and prev.id = any(?::int[]) and prev.id = m.id and c.id = m.certification_id
      returning m.id, prev.due_at as due_before, m.due_at as due_after)
     insert into exception_audit (exception_id, membership_id, certification_id, bulk_action_id, action, reason, staff_id,
                                  status_before, status_after, due_before, due_after)
     select x.exception_id, x.membership_id, ?, ?, ?, ?, ?, 'open', ?, changed.due_before, changed.due_after
       from unnest(?::bigint[], ?::int[]) as x(exception_id, membership_id)
       join changed on changed.id = x.membership_id
     on conflict (exception_id, bulk_action_id) do nothing`,
    [
      status,
      assigns,
      name === 'assign_realistic',
      name === 'dismiss',
      intArray(membershipIds),
      intArray(membershipIds),
      action.certificationId,
      action.id,
      name,
      action.reason,
      action.staffId,
      status,
      intArray(exceptionIds),
      intArray(membershipIds),
    ],
  );
  return exceptionIds;
}

/**
 * Reopening a chunk (DOMAIN.md §10): each exception that can be reopened is Open again and its
 * membership as it was before the action that handled it: not assigned, the due date that action
 * changed put back (unless it has changed since), completion recorded again after a Dismiss.
 * Returns the exceptions it reopened.
 */
async function reopenChunk(q: ChunkQuery, action: ChunkAction, chunk: number[]): Promise<number[]> {
  const rows = await q(
    `with target as (
       select e.id, e.membership_id, e.status, last.due_before, last.due_after
         from exception e
         join membership m on m.id = e.membership_id
         join lateral (select a.due_before, a.due_after from exception_audit a
                        where a.exception_id = e.id and a.status_after = e.status
                        order by a.id desc limit 1) last on true
        where e.id = any(?::bigint[]) and e.certification_id = ? and ${reopenRefusalSql('?::bigint')} is null
        for update of e, m
     ), reopened as (
       update exception e set status = 'open', handled_at = null, handled_by = null, reason = null, bulk_action_id = null
         from target t where e.id = t.id
       returning e.id
     ), changed as (
       update membership m
          set exception_status = 'open',
              assigned_at = null,
              due_at = case when m.due_at is not distinct from t.due_after then t.due_before else m.due_at end,
              completion_recorded = case when t.status = 'dismissed' then true else m.completion_recorded end
         from target t, membership prev
        where m.id = t.membership_id and prev.id = t.membership_id
       returning m.id, prev.due_at as due_before, m.due_at as due_after
     )
     insert into exception_audit (exception_id, membership_id, certification_id, bulk_action_id, action, reason, staff_id,
                                  status_before, status_after, due_before, due_after)
     select t.id, t.membership_id, ?, ?, 'reopen', ?, ?, t.status, 'open', changed.due_before, changed.due_after
       from target t join changed on changed.id = t.membership_id
     on conflict (exception_id, bulk_action_id) do nothing
     returning exception_id`,
    [
      intArray(chunk),
      action.certificationId,
      action.reopens,
      action.reopens,
      action.certificationId,
      action.id,
      action.reason,
      action.staffId,
    ],
  );
  return rows.map((r) => Number(r.exception_id));
}

function toStatus(row: any): BulkActionStatus {
  return {
    id: Number(row.id),
    certificationId: row.certification_id,
    certificationName: row.certification_name,
    action: row.action,
    reopensBulkActionId: row.reopens_bulk_action_id === null ? null : Number(row.reopens_bulk_action_id),
    reason: row.reason,
    selectionLabel: row.selection_label,
    createdByName: row.created_by_name,
    createdAt: row.created_at,
    state: row.state,
    total: row.total,
    processed: row.processed,
    applied: row.applied,
    alreadyHandled: row.already_handled,
    failed: row.failed,
    finishedAt: row.finished_at,
    error: row.error,
  };
}
