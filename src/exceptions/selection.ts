import { Sql, sql } from '../database/sql';
import { likeContains } from '../common/listing';
import { shiftSql } from '../lifecycle/period';
import { ExceptionType } from './exception-rules';
import { AgeFilter } from './exception-age';

/** What the report shows and a condition selects: a search, a type filter and an age filter. */
export interface ReportFilter {
  q: string;
  type: ExceptionType | null;
  /** Absent in selections kept before the report could be filtered by age. */
  age?: AgeFilter | null;
}

/**
 * Which exceptions an action is for: a condition over the filtered report, ticked rows (or the one
 * exception of a learner's page), or every exception another bulk action handled (to reopen them).
 */
export type Selection =
  | { mode: 'condition'; condition: 'all' | ExceptionType; filter: ReportFilter }
  | { mode: 'ids'; ids: number[] }
  | { mode: 'handled_by'; bulkActionId: number };

export interface SelectionSummary {
  countsByType: Partial<Record<ExceptionType, number>>;
  /** Open exceptions of this certification that the action will be applied to. */
  total: number;
  /** Ticked rows that are no longer open (handled meanwhile): skipped and reported. */
  notOpen: number;
  /** Ticked ids that are not exceptions of this certification: refused. */
  foreign: number;
}

/**
 * SQL conditions on `e` (an exception) for a certification's open exceptions under a filter. A
 * search matches the learner's search text kept on the exception (exception_open_search); an age
 * filter compares raised_at with its day boundaries, so the (certification_id, status, raised_at)
 * index serves it.
 */
export function filterSql(certificationId: number, filter: ReportFilter): Sql {
  const parts = [sql`e.certification_id = ${certificationId}`, sql`e.status = 'open'`];
  if (filter.type) parts.push(sql`e.type = ${filter.type}`);
  if (filter.q) parts.push(sql`e.learner_search like ${likeContains(filter.q)}`);
  if (filter.age?.raisedFrom) parts.push(sql`e.raised_at >= ${filter.age.raisedFrom}::timestamptz`);
  if (filter.age?.raisedBefore) parts.push(sql`e.raised_at < ${filter.age.raisedBefore}::timestamptz`);
  return sql.join(parts, ' and ');
}

/** The filter a condition selects: the report's filter, narrowed to the condition's type. */
export function conditionFilter(selection: Extract<Selection, { mode: 'condition' }>): ReportFilter {
  return selection.condition === 'all' ? selection.filter : { ...selection.filter, type: selection.condition };
}

/** The exceptions a selection covers (open or not: ticked rows that were handled are reported). */
export function selectionSql(certificationId: number, selection: Selection): Sql {
  if (selection.mode === 'ids') return sql`e.certification_id = ${certificationId} and e.id = any(${selection.ids}::bigint[])`;
  if (selection.mode === 'handled_by') {
    return sql`e.certification_id = ${certificationId} and e.id in (select i.exception_id from bulk_action_item i
      where i.bulk_action_id = ${selection.bulkActionId} and i.outcome = 'applied')`;
  }
  return filterSql(certificationId, conditionFilter(selection));
}

/** Days from now to the realistic due date: the path's total minimum time plus the buffer. */
const REALISTIC_DAYS_SQL = sql.raw(`(case m.current_path when 'recertification' then c.recertification_min_days
  else c.certification_min_days end) + c.realistic_buffer_days`);

/**
 * The realistic due date of membership `m` in certification `c`; never earlier than the due date it
 * has. The days are days of the site's calendar (a day across a change of clocks is 23 or 25 hours).
 */
export function realisticDueSql(siteZone: string): Sql {
  return sql`greatest(m.due_at, ${shiftSql(sql`now()`, sql`make_interval(days => ${REALISTIC_DAYS_SQL})`, siteZone)})`;
}
