import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { sql, Sql, SqlRunner } from '../database/sql';
import { ActionName } from './exception-rules';
import { BulkAction, BulkState } from './bulk-action.entity';

export type { BulkState } from './bulk-action.entity';

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

/** A learner whose exception the bulk action could not handle, and why. */
export interface BulkActionFailure {
  firstName: string;
  lastName: string;
  idNumber: string;
  message: string | null;
}

interface StatusRow {
  id: string;
  certification_id: number;
  certification_name: string;
  action: ActionName;
  reopens_bulk_action_id: string | null;
  reason: string | null;
  selection_label: string;
  created_by_name: string;
  created_at: Date;
  state: BulkState;
  total: number;
  processed: number;
  applied: number;
  already_handled: number;
  failed: number;
  finished_at: Date | null;
  error: string | null;
}

/** Where bulk actions stand: one, a certification's unfinished ones, all of them, and an action's failures. */
@Injectable()
export class BulkActionQueriesService {
  private readonly db: SqlRunner;

  constructor(private readonly em: EntityManager) {
    this.db = new SqlRunner(em);
  }

  /** One bulk action as it stands now (read afresh: its job changes it while a page polls). */
  async status(bulkActionId: number): Promise<BulkActionStatus | null> {
    const action = await this.em.findOne(BulkAction, bulkActionId, { refresh: true });
    if (!action) return null;
    const names = await this.db.one<{ certification_name: string; created_by_name: string }>(
      sql`select c.full_name as certification_name, s.display_name as created_by_name
         from certification c, staff s where c.id = ${action.certificationId} and s.id = ${action.createdBy}`,
    );
    return {
      id: action.id,
      certificationId: action.certificationId,
      certificationName: names?.certification_name ?? '',
      action: action.action,
      reopensBulkActionId: action.reopensBulkActionId,
      reason: action.reason,
      selectionLabel: action.selectionLabel,
      createdByName: names?.created_by_name ?? '',
      createdAt: action.createdAt,
      state: action.state,
      total: action.total,
      processed: action.processed,
      applied: action.applied,
      alreadyHandled: action.alreadyHandled,
      failed: action.failed,
      finishedAt: action.finishedAt,
      error: action.error,
    };
  }

  async failures(bulkActionId: number, limit = 100): Promise<BulkActionFailure[]> {
    return this.db.rows<BulkActionFailure>(
      sql`select l.first_name as "firstName", l.last_name as "lastName", l.id_number as "idNumber", i.message
         from bulk_action_item i join exception e on e.id = i.exception_id join learner l on l.id = e.learner_id
        where i.bulk_action_id = ${bulkActionId} and i.outcome = 'failed'
        order by e.learner_sort_name, e.id limit ${limit}`,
    );
  }

  /** This certification's bulk actions still queued or running, oldest first. */
  unfinished(certificationId: number): Promise<BulkActionStatus[]> {
    return this.statuses(sql`b.certification_id = ${certificationId} and b.state in ('queued', 'running')`, sql`b.id`, 5);
  }

  /** Newest first, keyset paged on id; `limit` + 1 rows, to know if there is more. */
  list(beforeId: number | null, limit: number): Promise<BulkActionStatus[]> {
    return this.statuses(beforeId === null ? sql`true` : sql`b.id < ${beforeId}`, sql`b.id desc`, limit + 1);
  }

  private async statuses(where: Sql, orderBy: Sql, limit: number): Promise<BulkActionStatus[]> {
    const rows = await this.db.rows<StatusRow>(
      sql`select b.id, b.certification_id, c.full_name as certification_name, b.action, b.reopens_bulk_action_id, b.reason,
              b.selection_label, s.display_name as created_by_name, b.created_at, b.state, b.total, b.processed, b.applied,
              b.already_handled, b.failed, b.finished_at, b.error
         from bulk_action b join certification c on c.id = b.certification_id join staff s on s.id = b.created_by
        where ${where}
        order by ${orderBy} limit ${limit}`,
    );
    return rows.map(toStatus);
  }
}

function toStatus(row: StatusRow): BulkActionStatus {
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
