import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { FieldError, fieldError } from '../common/forms';
import { plural } from '../common/view-helpers';
import { ActionName, BulkActionName, refusal } from './exception-rules';
import { ExceptionReportService } from './exception-report.service';
import { Selection, SelectionSummary, selectionSql } from './selection';
import { sql, SqlRunner } from '../database/sql';
import { reopenRefusalSql } from './reopen-rules';
import { BulkActionDraft } from './bulk-action.entity';

/** A confirmation page is answered within this time, or made again from fresh counts. */
const DRAFT_LIFETIME_MS = 60 * 60 * 1000;

export interface Draft {
  token: string;
  certificationId: number;
  createdBy: number;
  createdAt: Date;
  action: ActionName;
  reason: string | null;
  selection: Selection & { label: string };
  bulkActionId: number | null;
  used: boolean;
}

export interface ReopenSummary {
  /** Exceptions that will be opened again. */
  total: number;
  /** Those that will not be, by reason. */
  refused: Array<{ reason: string; count: number }>;
}

export type Prepared = { token: string } | { error: FieldError };

/**
 * What a confirmation page confirms: made by Continue (from the Exception report, a learner's page
 * or a bulk action's page) once the selection is checked, and used once by OK.
 */
@Injectable()
export class BulkActionDraftsService {
  constructor(
    private readonly em: EntityManager,
    private readonly report: ExceptionReportService,
  ) {}

  /** One of the four actions: refused (with the field to blame) when the selection does not fit it. */
  async prepare(
    certificationId: number,
    staffId: number,
    action: BulkActionName,
    reason: string | null,
    selection: Selection & { label: string },
  ): Promise<Prepared> {
    const summary = await this.report.summarise(certificationId, selection);
    const problem = selectionProblem(action, summary);
    if (problem) return { error: problem };
    return { token: await this.create(certificationId, staffId, action, reason, selection) };
  }

  /** Reopening: refused when none of the selected exceptions can be reopened, saying why. */
  async prepareReopen(
    certificationId: number,
    staffId: number,
    reason: string | null,
    selection: Selection & { label: string },
  ): Promise<Prepared> {
    const summary = await this.reopenSummary(certificationId, selection);
    if (summary.total === 0) {
      const why = summary.refused.map((r) => r.reason).join('; ');
      return { error: fieldError('reopen', why ? `This cannot be reopened. ${why}.` : 'There is nothing to reopen') };
    }
    return { token: await this.create(certificationId, staffId, 'reopen', reason, selection) };
  }

  async reopenSummary(certificationId: number, selection: Selection): Promise<ReopenSummary> {
    const source = selection.mode === 'handled_by' ? sql`${selection.bulkActionId}::bigint` : sql`null::bigint`;
    const rows = await new SqlRunner(this.em).rows<{ reason: string | null; n: number }>(
      sql`select ${reopenRefusalSql(source)} as reason, count(*)::int as n
         from exception e join membership m on m.id = e.membership_id
        where ${selectionSql(certificationId, selection)}
        group by 1 order by 2 desc`,
    );
    return {
      total: rows.find((r) => r.reason === null)?.n ?? 0,
      refused: rows.flatMap((r) => (r.reason === null ? [] : [{ reason: r.reason, count: r.n }])),
    };
  }

  private async create(
    certificationId: number,
    staffId: number,
    action: ActionName,
    reason: string | null,
    selection: Selection & { label: string },
  ): Promise<string> {
    const draft = this.em.create(BulkActionDraft, {
      token: randomUUID(),
      certificationId,
      createdBy: staffId,
      action,
      reason,
      selection,
    });
    await this.em.persist(draft).flush();
    return draft.token;
  }

  async find(token: string, certificationId: number, staffId: number): Promise<Draft | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(token)) return null;
    // Read afresh: a confirmation in another request may have used it since this one loaded it.
    const row = await this.em.findOne(BulkActionDraft, { token, certificationId, createdBy: staffId }, { refresh: true });
    if (!row) return null;
    return {
      token: row.token,
      certificationId: row.certificationId,
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      action: row.action,
      reason: row.reason,
      selection: row.selection,
      bulkActionId: row.bulkActionId,
      used: row.usedAt !== null,
    };
  }
}

/** An unused confirmation older than its lifetime: its counts may no longer be true. */
export function isExpired(draft: Draft, now = Date.now()): boolean {
  return !draft.used && now - draft.createdAt.getTime() > DRAFT_LIFETIME_MS;
}

function selectionProblem(action: BulkActionName, summary: SelectionSummary): FieldError | null {
  if (summary.foreign > 0) {
    return fieldError(
      'select',
      `${plural(summary.foreign, 'selected exception')} ${summary.foreign === 1 ? 'does' : 'do'} not belong to this certification`,
    );
  }
  if (summary.total === 0) {
    return fieldError(
      'select',
      summary.notOpen > 0 ? 'The selected learners’ exceptions have already been handled' : 'No open exceptions match this selection',
    );
  }
  const problem = refusal(action, summary.countsByType);
  return problem ? fieldError('action', problem) : null;
}
