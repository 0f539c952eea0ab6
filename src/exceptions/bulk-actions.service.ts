import { Inject, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { intArray } from '../common/sql';
import { LearnerMessagesService } from '../notifications/learner-messages.service';
import { SYNC_LOCK_CLASS } from '../assignments/sync/membership-sync.service';
import { ACTION_LABELS, ACTION_STATUS, BulkActionName, refusal } from './exception-rules';
import { ExceptionReportService, REALISTIC_DAYS_SQL, Selection, selectionSql } from './exception-report.service';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, bulkJobId } from './bulk-actions.constants';

export type BulkState = 'queued' | 'running' | 'completed' | 'completed_with_failures' | 'failed';

export const STATE_LABELS: Record<BulkState, string> = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  completed_with_failures: 'Completed with failures',
  failed: 'Failed',
};

export interface Draft {
  token: string;
  certificationId: number;
  createdBy: number;
  action: BulkActionName;
  reason: string | null;
  selection: Selection & { label: string };
  bulkActionId: number | null;
  used: boolean;
}

export interface BulkActionStatus {
  id: number;
  certificationId: number;
  certificationName: string;
  action: BulkActionName;
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

  async createDraft(
    certificationId: number,
    staffId: number,
    action: BulkActionName,
    reason: string | null,
    selection: Selection & { label: string },
  ): Promise<string> {
    const [row] = await this.em.getConnection().execute(
      `insert into bulk_action_draft (certification_id, created_by, action, reason, selection)
       values (?, ?, ?, ?, ?::jsonb) returning token`,
      [certificationId, staffId, action, reason, JSON.stringify(selection)],
    );
    return row.token;
  }

  async draft(token: string, certificationId: number, staffId: number): Promise<Draft | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(token)) return null;
    const [row] = await this.em.getConnection().execute(
      `select token, certification_id, created_by, action, reason, selection, bulk_action_id, used_at
         from bulk_action_draft where token = ? and certification_id = ? and created_by = ?`,
      [token, certificationId, staffId],
    );
    if (!row) return null;
    return {
      token: row.token,
      certificationId: row.certification_id,
      createdBy: row.created_by,
      action: row.action,
      reason: row.reason,
      selection: row.selection,
      bulkActionId: row.bulk_action_id === null ? null : Number(row.bulk_action_id),
      used: row.used_at !== null,
    };
  }

  /**
   * OK: uses the draft once, snapshots the selected exceptions into a bulk action and queues it.
   * A second OK for the same draft returns the bulk action the first one made.
   */
  async confirm(draft: Draft): Promise<number> {
    const id = await this.em.transactional(async (em) => {
      const conn = em.getConnection();
      const trx = em.getTransactionContext();
      const q = (sql: string, params: unknown[] = []) => conn.execute(sql, params as any[], 'all', trx);
      const [claimed] = await q(
        `update bulk_action_draft set used_at = now() where token = ? and used_at is null returning token`,
        [draft.token],
      );
      if (!claimed) {
        const [existing] = await q(`select bulk_action_id from bulk_action_draft where token = ? for update`, [draft.token]);
        return existing?.bulk_action_id === null || existing === undefined ? null : Number(existing.bulk_action_id);
      }
      const summary = await this.report.summarise(draft.certificationId, draft.selection);
      const problem = refusal(draft.action, summary.countsByType);
      if (problem) throw new SelectionRefused(problem);
      if (summary.foreign > 0) throw new SelectionRefused('Some selected exceptions do not belong to this certification.');

      const [action] = await q(
        `insert into bulk_action (certification_id, action, reason, selection_label, created_by)
         values (?, ?, ?, ?, ?) returning id`,
        [draft.certificationId, draft.action, draft.reason, draft.selection.label, draft.createdBy],
      );
      const where = selectionSql(draft.certificationId, draft.selection);
      const items = await q(
        `with snapshot as (
           insert into bulk_action_item (bulk_action_id, exception_id)
           select ?, e.id from exception e where ${where.sql}
           returning 1)
         select count(*)::int as n from snapshot`,
        [action.id, ...where.params],
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
    const key = jobKey ?? (await this.em.getConnection().execute(`select job_key from bulk_action where id = ?`, [bulkActionId]))[0]?.job_key;
    if (!key) throw new Error(`bulk action ${bulkActionId} does not exist`);
    await this.queue.add(BULK_APPLY_JOB, { bulkActionId }, { jobId: bulkJobId(key), attempts: 10, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false });
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
    await this.em.fork().getConnection().execute(
      `update bulk_action set state = 'failed', finished_at = now(), error = ? where id = ? and state in ('queued', 'running')`,
      [error.slice(0, 500), bulkActionId],
    );
  }

  /** One chunk in one transaction; the number of items it gave an outcome (0 when none were left). */
  private async applyChunk(bulkActionId: number): Promise<number> {
    return this.em.fork().transactional(async (em) => {
      const conn = em.getConnection();
      const trx = em.getTransactionContext();
      const q = (sql: string, params: unknown[] = []) => conn.execute(sql, params as any[], 'all', trx);
      const [action] = await q(
        `select id, certification_id, action, reason, created_by from bulk_action where id = ? and state = 'running' for update`,
        [bulkActionId],
      );
      if (!action) return 0;
      // Serialised with membership sync of the same certification, which also changes memberships.
      await q('select pg_advisory_xact_lock(?, ?)', [SYNC_LOCK_CLASS, action.certification_id]);
      const chunk = (
        await q(
          `select exception_id from bulk_action_item where bulk_action_id = ? and outcome is null order by exception_id limit ?`,
          [bulkActionId, this.config.bulkChunkSize],
        )
      ).map((r: any) => Number(r.exception_id));
      if (chunk.length === 0) return 0;

      const name = action.action as BulkActionName;
      const status = ACTION_STATUS[name];
      // Only exceptions still open, of this certification, whose learner is still a member.
      const handled = await q(
        `update exception e
            set status = ?, handled_at = now(), handled_by = ?, reason = ?, bulk_action_id = ?
          where e.id = any(?::bigint[]) and e.certification_id = ? and e.status = 'open'
            and exists (select 1 from membership m where m.id = e.membership_id and m.removed_at is null)
        returning e.id, e.membership_id`,
        [status, action.created_by, action.reason, bulkActionId, intArray(chunk), action.certification_id],
      );
      const exceptionIds = handled.map((r: any) => Number(r.id));
      const membershipIds = handled.map((r: any) => Number(r.membership_id));

      if (handled.length > 0) {
        const assigns = name === 'assign' || name === 'assign_realistic' || name === 'dismiss';
        await q(
          `with changed as (
             update membership m
                set exception_status = ?,
                    assigned_at = case when ? then now() else m.assigned_at end,
                    due_at = case when ? then now() + make_interval(days => ${REALISTIC_DAYS_SQL}) else m.due_at end,
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
            action.certification_id,
            bulkActionId,
            name,
            action.reason,
            action.created_by,
            status,
            intArray(exceptionIds),
            intArray(membershipIds),
          ],
        );
      }

      // Every item of the chunk gets its outcome: applied, already handled, or failed with why.
      const outcomes = await q(
        `with outcome as (
           select e.id,
                  case when e.id = any(?::bigint[]) then 'applied'
                       when e.certification_id <> ? then 'failed'
                       when e.status <> 'open' then 'already_handled'
                       when m.removed_at is not null then 'failed'
                       else 'failed' end as outcome,
                  case when e.id = any(?::bigint[]) then null
                       when e.certification_id <> ? then 'The exception belongs to another certification'
                       when e.status <> 'open' then null
                       when m.removed_at is not null then 'The learner is no longer in this certification'
                       else 'The exception could not be handled' end as message
             from exception e join membership m on m.id = e.membership_id
            where e.id = any(?::bigint[]))
         update bulk_action_item i set outcome = o.outcome, message = o.message, processed_at = now()
           from outcome o
          where i.bulk_action_id = ? and i.exception_id = any(?::bigint[]) and i.exception_id = o.id
        returning i.outcome`,
        [
          intArray(exceptionIds),
          action.certification_id,
          intArray(exceptionIds),
          action.certification_id,
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
    const rows = await this.em.fork().getConnection().execute(
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

  describe(action: BulkActionName): string {
    return ACTION_LABELS[action];
  }
}

function toStatus(row: any): BulkActionStatus {
  return {
    id: Number(row.id),
    certificationId: row.certification_id,
    certificationName: row.certification_name,
    action: row.action,
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
