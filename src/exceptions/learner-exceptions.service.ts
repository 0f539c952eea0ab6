import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { sql, SqlRunner } from '../database/sql';
import { ActionName, ExceptionType } from './exception-rules';
import { reopenRefusalSql } from './reopen-rules';

/** The exception of a learner's active membership that can be acted on now: open, or the last one handled. */
export interface CurrentException {
  exceptionId: number;
  membershipId: number;
  certificationId: number;
  type: ExceptionType;
  evidence: Record<string, unknown>;
  summary: string;
  status: string;
  raisedAt: Date;
  /** Why it cannot be reopened (handled exceptions only); null when it can. */
  reopenRefusal: string | null;
}

/** One action on one of the learner's exceptions, as the audit recorded it. */
export interface ExceptionAction {
  membershipId: number;
  exceptionId: number;
  actedAt: Date;
  staffName: string | null;
  /** Done by the certification's exception policy as membership sync raised the exception. */
  byPolicy: boolean;
  action: ActionName;
  reason: string | null;
  statusBefore: string;
  statusAfter: string;
  dueBefore: Date | null;
  dueAfter: Date | null;
  bulkActionId: number | null;
}

/** A learner's exceptions for the learner page: what can be done now, and what was done. */
@Injectable()
export class LearnerExceptionsService {
  private readonly db: SqlRunner;

  constructor(em: EntityManager) {
    this.db = new SqlRunner(em);
  }

  /** Per active membership, its open exception, or else its last handled one. */
  async current(learnerId: number): Promise<CurrentException[]> {
    const rows = await this.db.rows<CurrentRow>(
      sql`select distinct on (m.id) e.id, m.id as membership_id, e.certification_id, e.type, e.evidence, e.summary, e.status, e.raised_at,
              ${reopenRefusalSql(sql`null::bigint`)} as refusal
         from membership m
         join exception e on e.membership_id = m.id
        where m.learner_id = ${learnerId} and m.removed_at is null and e.status <> 'resolved'
        order by m.id, (e.status = 'open') desc, e.handled_at desc nulls last, e.id desc`,
    );
    return rows.map((r) => ({
      exceptionId: Number(r.id),
      membershipId: r.membership_id,
      certificationId: r.certification_id,
      type: r.type,
      evidence: r.evidence,
      summary: r.summary,
      status: r.status,
      raisedAt: r.raised_at,
      reopenRefusal: r.status === 'open' ? null : r.refusal,
    }));
  }

  /**
   * Every action on the learner's exceptions, newest first. The audit rows are reached through the
   * learner's exceptions (exception_audit has no index by membership), never by reading them all.
   */
  async actions(learnerId: number): Promise<ExceptionAction[]> {
    const rows = await this.db.rows<ActionRow>(
      sql`select a.membership_id, a.exception_id, a.acted_at, s.display_name as staff_name, a.by_policy, a.action, a.reason,
              a.status_before, a.status_after, a.due_before, a.due_after, a.bulk_action_id
         from membership m
         join exception e on e.membership_id = m.id
         join exception_audit a on a.exception_id = e.id
         left join staff s on s.id = a.staff_id
        where m.learner_id = ${learnerId}
        order by a.acted_at desc, a.id desc`,
    );
    return rows.map((r) => ({
      membershipId: r.membership_id,
      exceptionId: Number(r.exception_id),
      actedAt: r.acted_at,
      staffName: r.staff_name,
      byPolicy: r.by_policy,
      action: r.action,
      reason: r.reason,
      statusBefore: r.status_before,
      statusAfter: r.status_after,
      dueBefore: r.due_before,
      dueAfter: r.due_after,
      bulkActionId: r.bulk_action_id === null ? null : Number(r.bulk_action_id),
    }));
  }

  /** The certification of one of the learner's exceptions, or null when it is not theirs. */
  async certificationOf(learnerId: number, exceptionId: number): Promise<number | null> {
    const row = await this.db.one<{ certification_id: number }>(
      sql`select certification_id from exception where id = ${exceptionId} and learner_id = ${learnerId}`,
    );
    return row?.certification_id ?? null;
  }
}

interface CurrentRow {
  id: string;
  membership_id: number;
  certification_id: number;
  type: ExceptionType;
  evidence: Record<string, unknown>;
  summary: string;
  status: string;
  raised_at: Date;
  refusal: string | null;
}

interface ActionRow {
  membership_id: number;
  exception_id: string;
  acted_at: Date;
  staff_name: string | null;
  by_policy: boolean;
  action: ActionName;
  reason: string | null;
  status_before: string;
  status_after: string;
  due_before: Date | null;
  due_after: Date | null;
  bulk_action_id: string | null;
}
