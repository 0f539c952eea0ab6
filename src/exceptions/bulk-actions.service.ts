import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { CreateRequestContext, EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { inTransaction, Sql, sql, SqlRunner } from '../database/sql';
import { lockCertification } from '../database/locks';
import { LearnerMessagesService } from '../notifications/learner-messages.service';
import { ACTION_STATUS, ActionName, BulkActionName, fittingTypes, refusal } from './exception-rules';
import { ExceptionReportService } from './exception-report.service';
import { selectionSql } from './selection';
import { membershipChangeSql } from './action-effects';
import { Draft } from './bulk-action-drafts.service';
import { reopenRefusalSql } from './reopen-rules';
import { BulkActionQueriesService, BulkActionStatus } from './bulk-action-queries.service';
import type { ItemOutcome } from './bulk-action.entity';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, bulkJobId } from '../jobs/queues';

/** The selection changed between the confirmation page and OK so that the action no longer fits. */
export class SelectionRefused extends Error {}

interface ChunkAction {
  id: number;
  certificationId: number;
  name: ActionName;
  reason: string | null;
  staffId: number;
  reopens: number | null;
}

interface ChunkActionRow {
  certification_id: number;
  action: ActionName;
  reason: string | null;
  created_by: number;
  reopens_bulk_action_id: string | null;
}

interface ExceptionIdRow {
  exception_id: string;
}

interface ChunkRangeRow {
  n: number;
  low: string;
  high: string;
}

interface ChunkDoneRow {
  processed: number;
  applied: number;
}

interface OutcomeRow {
  outcome: ItemOutcome;
}

interface JobKeyRow {
  id: string;
  job_key: string;
}

/**
 * The bulk action runner: OK snapshots a selection into a bulk action and queues it; its job
 * applies it chunk by chunk, one transaction per chunk.
 */
@Injectable()
export class BulkActionsService {
  private readonly logger = new Logger(BulkActionsService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly report: ExceptionReportService,
    private readonly queries: BulkActionQueriesService,
    @InjectQueue(BULK_ACTIONS_QUEUE) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly learnerMessages: LearnerMessagesService,
  ) {}

  /**
   * OK: uses the draft once, snapshots the selected exceptions into a bulk action and queues it.
   * A second OK for the same draft returns the bulk action the first one made.
   */
  async confirm(draft: Draft): Promise<number> {
    const id = await inTransaction(this.em, async (db) => {
      const claimed = await db.run(sql`update bulk_action_draft set used_at = now() where token = ${draft.token} and used_at is null`);
      if (claimed === 0) {
        const existing = await db.one<{ bulk_action_id: string | null }>(
          sql`select bulk_action_id from bulk_action_draft where token = ${draft.token} for update`,
        );
        return existing?.bulk_action_id == null ? null : Number(existing.bulk_action_id);
      }
      // The selection is counted and snapshotted while nothing else changes this certification's exceptions.
      await lockCertification(db, draft.certificationId);
      let fitting = sql``;
      if (draft.action !== 'reopen') {
        const summary = await this.report.summarise(draft.certificationId, draft.selection);
        const problem = refusal(draft.action, summary.countsByType);
        if (problem) throw new SelectionRefused(problem);
        if (summary.foreign > 0) throw new SelectionRefused('Some selected exceptions do not belong to this certification.');
        fitting = sql`and e.type = any(${[...fittingTypes(draft.action)]}::text[])`;
      }
      const reopens = draft.selection.mode === 'handled_by' ? draft.selection.bulkActionId : null;
      const action = await db.one<{ id: string }>(
        sql`insert into bulk_action (certification_id, action, reason, selection_label, created_by, reopens_bulk_action_id)
         values (${draft.certificationId}, ${draft.action}, ${draft.reason}, ${draft.selection.label}, ${draft.createdBy}, ${reopens})
         returning id`,
      );
      const actionId = Number(action!.id);
      const items = await db.one<{ n: number }>(
        sql`with snapshot as (
           insert into bulk_action_item (bulk_action_id, exception_id)
           select ${actionId}, e.id from exception e where ${selectionSql(draft.certificationId, draft.selection)} ${fitting}
           returning 1)
         select count(*)::int as n from snapshot`,
      );
      const total = items?.n ?? 0;
      await db.run(sql`update bulk_action set total = ${total} where id = ${actionId}`);
      // Fresh statistics, so that each chunk's statements plan for the rows the snapshot added.
      if (total > 1000) await db.run(sql`analyze bulk_action_item`);
      await db.run(sql`update bulk_action_draft set bulk_action_id = ${actionId} where token = ${draft.token}`);
      return actionId;
    });
    if (id === null) throw new SelectionRefused('This confirmation has already been used.');
    await this.enqueue(id);
    return id;
  }

  /** Queues a bulk action's job; the job id makes a repeated call harmless. */
  async enqueue(bulkActionId: number, jobKey?: string): Promise<void> {
    const key =
      jobKey ??
      (await new SqlRunner(this.em).one<{ job_key: string }>(sql`select job_key from bulk_action where id = ${bulkActionId}`))?.job_key;
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
    const db = new SqlRunner(this.em);
    const started = await db.run(
      sql`update bulk_action set state = 'running', started_at = coalesce(started_at, now())
        where id = ${bulkActionId} and state in ('queued', 'running')`,
    );
    if (started === 0) return this.queries.status(bulkActionId);
    for (;;) {
      const done = await this.applyChunk(bulkActionId);
      if (done === 0) break;
      if (onProgress) {
        const status = await this.queries.status(bulkActionId);
        if (status) await onProgress(status.processed, status.total);
      }
    }
    await db.run(
      sql`update bulk_action
          set state = case when failed > 0 then 'completed_with_failures' else 'completed' end, finished_at = now()
        where id = ${bulkActionId} and state = 'running'`,
    );
    return this.queries.status(bulkActionId);
  }

  /** Marks a bulk action failed once its job has given up. */
  async markFailed(bulkActionId: number, error: string): Promise<void> {
    await new SqlRunner(this.em.fork()).run(
      sql`update bulk_action set state = 'failed', finished_at = now(), error = ${error.slice(0, 500)}
        where id = ${bulkActionId} and state in ('queued', 'running')`,
    );
  }

  /**
   * One chunk in one transaction; the number of items it gave an outcome (0 when none were left).
   * Learners assigned by Assign or a realistic due date get the messages they missed (DOMAIN.md
   * §4) in the same transaction, so that they commit with the change.
   */
  private async applyChunk(bulkActionId: number): Promise<number> {
    return inTransaction(this.em.fork(), async (db, em) => {
      const row = await db.one<ChunkActionRow>(
        sql`select certification_id, action, reason, created_by, reopens_bulk_action_id
           from bulk_action where id = ${bulkActionId} and state = 'running' for update`,
      );
      if (!row) return 0;
      // Serialised with membership sync of the same certification, which also changes memberships.
      await lockCertification(db, row.certification_id);
      const action: ChunkAction = {
        id: bulkActionId,
        certificationId: row.certification_id,
        name: row.action,
        reason: row.reason,
        staffId: row.created_by,
        reopens: row.reopens_bulk_action_id === null ? null : Number(row.reopens_bulk_action_id),
      };
      if (action.name === 'reopen') return this.reopenChunk(db, action);
      const name = action.name;
      // The chunk: the next items without an outcome, in exception id order, as a range of ids; the
      // statement reads the items by that range and reaches everything else from them by index.
      const chunk = await db.one<ChunkRangeRow>(
        sql`select count(*)::int as n, min(exception_id)::text as low, max(exception_id)::text as high
              from (select exception_id from bulk_action_item where bulk_action_id = ${bulkActionId} and outcome is null
                     order by exception_id limit ${this.config.bulkChunkSize}) c`,
      );
      if (!chunk || chunk.n === 0) return 0;
      const done = await db.one<ChunkDoneRow>(handleChunkSql(action, name, chunk, this.config.siteTimeZone));
      if (!done || done.processed === 0) return 0;
      if (done.applied > 0 && (name === 'assign' || name === 'assign_realistic')) {
        // The learners this chunk assigned: its audit rows, found by the chunk's exception id range.
        await this.learnerMessages.writeDueWhere(
          em,
          sql`m.id = any(array(select a.membership_id from exception_audit a
                where a.bulk_action_id = ${bulkActionId} and a.exception_id between ${chunk.low} and ${chunk.high}))`,
        );
      }
      return done.processed;
    });
  }

  /** A chunk of a reopening: the exceptions it reopens, then every item's outcome and the counts. */
  private async reopenChunk(db: SqlRunner, action: ChunkAction): Promise<number> {
    const chunk = (
      await db.rows<ExceptionIdRow>(
        sql`select exception_id from bulk_action_item where bulk_action_id = ${action.id} and outcome is null
           order by exception_id limit ${this.config.bulkChunkSize}`,
      )
    ).map((r) => Number(r.exception_id));
    if (chunk.length === 0) return 0;
    const applied = await reopenChunk(db, action, chunk);

    // Every item of the chunk gets its outcome: applied, already handled, or failed with why.
    const outcomes = await db.rows<OutcomeRow>(
      sql`with outcome as (
         select e.id,
                case when e.id = any(${applied}::bigint[]) then 'applied'
                     when e.certification_id <> ${action.certificationId} then 'failed'
                     when e.status = 'open' then 'already_handled'
                     else 'failed' end as outcome,
                case when e.id = any(${applied}::bigint[]) then null
                     when e.certification_id <> ${action.certificationId} then 'The exception belongs to another certification'
                     when e.status = 'open' then null
                     else coalesce(${reopenRefusalSql(sql`${action.reopens}::bigint`)}, 'The exception could not be reopened') end as message
           from exception e join membership m on m.id = e.membership_id
          where e.id = any(${chunk}::bigint[]))
       update bulk_action_item i set outcome = o.outcome, message = o.message, processed_at = now()
         from outcome o
        where i.bulk_action_id = ${action.id} and i.exception_id = any(${chunk}::bigint[]) and i.exception_id = o.id
      returning i.outcome`,
    );
    const count = (kind: ItemOutcome) => outcomes.filter((r) => r.outcome === kind).length;
    await db.run(
      sql`update bulk_action set processed = processed + ${outcomes.length}, applied = applied + ${count('applied')},
              already_handled = already_handled + ${count('already_handled')}, failed = failed + ${count('failed')}
        where id = ${action.id}`,
    );
    return outcomes.length;
  }

  /**
   * Bulk actions still queued or running whose job was lost (Redis restarted without its data) or
   * given up by Bull: queue them again. Runs every minute, and when Redis comes back after an
   * outage; a job that is alive is left alone. Bulk actions younger than `minAgeSeconds` are left
   * to the request that is queueing them.
   */
  async requeueUnfinished(minAgeSeconds = 30): Promise<number> {
    const rows = await new SqlRunner(this.em.fork()).rows<JobKeyRow>(
      sql`select id, job_key from bulk_action
        where state in ('queued', 'running') and created_at <= now() - make_interval(secs => ${minAgeSeconds})`,
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

/**
 * One of the four actions on a chunk of a bulk action, as one statement: the chunk's items (those
 * still without an outcome between its lowest and highest exception id), the exceptions among them
 * still open, of this certification, whose learner is still a member, their memberships, one audit
 * row each, every item's outcome (applied; or failed, or already handled, with why) and the bulk
 * action's counts; it returns the chunk's counts. The planner cannot know how many rows a CTE holds:
 * every table is therefore reached from the chunk by index (ids = any(array(...)), joins driven by
 * the CTE, a hashed NOT IN, a subquery per item left over), never by scanning or hashing a whole
 * table, and no CTE is joined to another, so that a chunk's work grows with the chunk alone.
 */
function handleChunkSql(action: ChunkAction, name: BulkActionName, chunk: ChunkRangeRow, siteZone: string): Sql {
  const status = ACTION_STATUS[name];
  return sql`with chunk as materialized (
      select i.exception_id as id from bulk_action_item i
       where i.bulk_action_id = ${action.id} and i.outcome is null and i.exception_id between ${chunk.low} and ${chunk.high}
    ), handled as (
      update exception e
         set status = ${status}, handled_at = now(), handled_by = ${action.staffId}, reason = ${action.reason}, bulk_action_id = ${action.id}
        from membership m
       where e.id = any(array(select id from chunk)) and e.certification_id = ${action.certificationId} and e.status = 'open'
         and m.id = e.membership_id and m.removed_at is null
      returning e.id, e.membership_id, m.due_at as due_before
    ), changed as (
      update membership m
         set ${membershipChangeSql(name, siteZone)}
        from handled h, certification c
       where m.id = h.membership_id and c.id = m.certification_id
      returning h.id as exception_id, m.id, h.due_before, m.due_at as due_after
    ), audit as (
      insert into exception_audit (exception_id, membership_id, certification_id, bulk_action_id, action, reason, staff_id,
                                   status_before, status_after, due_before, due_after)
      select changed.exception_id, changed.id, ${action.certificationId}, ${action.id}, ${name}, ${action.reason}, ${action.staffId},
             'open', ${status}, changed.due_before, changed.due_after
        from changed
      on conflict (exception_id, bulk_action_id) do nothing
    ), applied as (
      update bulk_action_item i set outcome = 'applied', message = null, processed_at = now()
       where i.bulk_action_id = ${action.id} and i.exception_id = any(array(select id from handled))
      returning i.outcome
    ), other as (
      update bulk_action_item i
         set (outcome, message) = (
               select case when e.certification_id <> ${action.certificationId} then 'failed'
                           when e.status <> 'open' then 'already_handled'
                           else 'failed' end,
                      case when e.certification_id <> ${action.certificationId} then 'The exception belongs to another certification'
                           when e.status <> 'open' then null
                           when m.removed_at is not null then 'The learner is no longer in this certification'
                           else 'The exception could not be handled' end
                 from exception e join membership m on m.id = e.membership_id
                where e.id = i.exception_id),
             processed_at = now()
       where i.bulk_action_id = ${action.id} and i.outcome is null and i.exception_id between ${chunk.low} and ${chunk.high}
         and i.exception_id not in (select id from handled)
         and exists (select 1 from exception e where e.id = i.exception_id)
      returning i.outcome
    ), counts as (
      select count(*)::int as processed,
             (count(*) filter (where outcome = 'applied'))::int as applied,
             (count(*) filter (where outcome = 'already_handled'))::int as already_handled,
             (count(*) filter (where outcome = 'failed'))::int as failed
        from (select outcome from applied union all select outcome from other) outcome
    )
    update bulk_action b
       set processed = b.processed + counts.processed, applied = b.applied + counts.applied,
           already_handled = b.already_handled + counts.already_handled, failed = b.failed + counts.failed
      from counts
     where b.id = ${action.id}
    returning counts.processed, counts.applied`;
}

/**
 * Reopening a chunk (DOMAIN.md §10): each exception that can be reopened is Open again and its
 * membership as it was before the action that handled it: not assigned, the due date that action
 * changed put back (unless it has changed since), completion recorded again after a Dismiss.
 * Returns the exceptions it reopened.
 */
async function reopenChunk(db: SqlRunner, action: ChunkAction, chunk: number[]): Promise<number[]> {
  const rows = await db.rows<ExceptionIdRow>(
    sql`with target as (
       select e.id, e.membership_id, e.status, last.due_before, last.due_after
         from exception e
         join membership m on m.id = e.membership_id
         join lateral (select a.due_before, a.due_after from exception_audit a
                        where a.exception_id = e.id and a.status_after = e.status
                        order by a.id desc limit 1) last on true
        where e.id = any(${chunk}::bigint[]) and e.certification_id = ${action.certificationId}
          and ${reopenRefusalSql(sql`${action.reopens}::bigint`)} is null
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
     select t.id, t.membership_id, ${action.certificationId}, ${action.id}, 'reopen', ${action.reason}, ${action.staffId},
            t.status, 'open', changed.due_before, changed.due_after
       from target t join changed on changed.id = t.membership_id
     on conflict (exception_id, bulk_action_id) do nothing
     returning exception_id`,
  );
  return rows.map((r) => Number(r.exception_id));
}
