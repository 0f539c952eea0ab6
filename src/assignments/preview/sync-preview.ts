import { sql, SqlRunner } from '../../database/sql';
import { EXCEPTION_TYPES, ExceptionType } from '../../exceptions/exception-rules';
import type { ExceptionStatus } from '../../reports/report-states';
import type { SyncPreviewStep } from '../sync/membership-sync.service';

/** How many learners of each list a preview names; the counts are always whole. */
export const PREVIEW_LEARNERS_SHOWN = 10;

export interface PreviewLearner {
  learnerId: number;
  firstName: string;
  lastName: string;
  idNumber: string;
}

export interface PreviewRaisedLearner extends PreviewLearner {
  type: ExceptionType;
  /** Still open, or as the certification's exception policy would handle it at once. */
  status: ExceptionStatus;
  evidence: unknown;
  summary: string;
}

/** What membership sync would do to one certification. */
export interface CertificationPreview {
  certificationId: number;
  certificationName: string;
  /** Synced because a certification sharing a course gained or lost learners. */
  knockOn: boolean;
  added: number;
  removed: number;
  dueDatesLater: number;
  /** Open exceptions whose cause would be gone (the learner assigned), or which close with a removed learner. */
  resolved: number;
  updated: number;
  /** Of the exceptions raised, those the certification's exception policy would handle at once. */
  handledByPolicy: number;
  raised: Array<{ type: ExceptionType; count: number; learners: PreviewRaisedLearner[] }>;
  removedLearners: PreviewLearner[];
}

/**
 * Reads one certification's outcome inside the preview's transaction: the counts of the sync's own
 * run, the first learners (by name) of each exception type it raised with their evidence, and the
 * first learners it removed.
 */
export async function readCertificationPreview(q: SqlRunner, step: SyncPreviewStep): Promise<CertificationPreview> {
  const id = step.certificationId;
  const certification = (await q.one<{ name: string }>(sql`select full_name as name from certification where id = ${id}`))!;
  const raisedRows =
    await q.rows<PreviewRaisedLearner>(sql`select type, status, "learnerId", "firstName", "lastName", "idNumber", evidence, summary
       from (select e.type, e.status, l.id as "learnerId", l.first_name as "firstName", l.last_name as "lastName", l.id_number as "idNumber",
                    e.evidence, e.summary,
                    row_number() over (partition by e.type order by e.learner_sort_name, e.learner_id_number, e.id) as n
               from exception e join learner l on l.id = e.learner_id
              where e.sync_run_id = ${step.syncRunId}) ranked
      where n <= ${PREVIEW_LEARNERS_SHOWN}
      order by type, n`);
  const removedLearners = await q.rows<PreviewLearner>(sql`select l.id as "learnerId", l.first_name as "firstName",
            l.last_name as "lastName", l.id_number as "idNumber"
       from membership m join learner l on l.id = m.learner_id
      where m.certification_id = ${id} and m.removed_at = now()
      order by m.learner_sort_name, m.learner_id_number, m.id
      limit ${PREVIEW_LEARNERS_SHOWN}`);
  const { stats } = step;
  return {
    certificationId: id,
    certificationName: certification.name,
    knockOn: step.knockOn,
    added: stats.added,
    removed: stats.removed,
    dueDatesLater: stats.due_updated,
    resolved: stats.exceptions_resolved,
    updated: stats.exceptions_updated,
    handledByPolicy: stats.exceptions_handled_by_policy,
    raised: EXCEPTION_TYPES.filter((type) => (stats.exceptions_raised[type] ?? 0) > 0).map((type) => ({
      type,
      count: stats.exceptions_raised[type]!,
      learners: raisedRows.filter((row) => row.type === type),
    })),
    removedLearners,
  };
}
