import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, Direction, keysetClause, PageQuery, rowKey } from '../common/keyset';
import { intArray } from '../common/sql';
import { learnerMatches, PAGE_SIZE, parseListView } from '../common/listing';
import { EXCEPTION_TYPES, ExceptionType, isExceptionType } from './exception-rules';

export const SORTS = {
  learner: ['e.learner_sort_name', 'e.id'],
  idnumber: ['e.learner_id_number', 'e.id'],
  issue: ['e.type', 'e.learner_sort_name', 'e.id'],
  raised: ['e.raised_at', 'e.id'],
} as const;
export type SortKey = keyof typeof SORTS;

/** What the report shows: search, type filter and sort, all from the query string. */
export interface ReportFilter {
  q: string;
  type: ExceptionType | null;
}

export interface ReportView extends ReportFilter {
  sort: SortKey;
  dir: Direction;
}

export interface ReportRow {
  id: number;
  learnerId: number;
  firstName: string;
  lastName: string;
  idNumber: string;
  type: ExceptionType;
  summary: string;
  evidence: unknown;
  raisedAt: Date;
  key: CursorValue[];
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

export function parseView(query: Record<string, unknown>): ReportView {
  return { ...parseListView(query, SORTS, 'learner'), type: isExceptionType(query.type) ? query.type : null };
}

/**
 * SQL conditions on `e` (an exception) for a certification's open exceptions under a filter. The
 * search uses the learner trigram index, then the open-exception indexes do the rest.
 */
export function filterSql(certificationId: number, filter: ReportFilter, alias = 'e'): { sql: string; params: unknown[] } {
  const parts = [`${alias}.certification_id = ?`, `${alias}.status = 'open'`];
  const params: unknown[] = [certificationId];
  if (filter.type) {
    parts.push(`${alias}.type = ?`);
    params.push(filter.type);
  }
  if (filter.q) {
    const search = learnerMatches(`${alias}.learner_id`, filter.q);
    parts.push(search.sql);
    params.push(search.param);
  }
  return { sql: parts.join(' and '), params };
}

@Injectable()
export class ExceptionReportService {
  constructor(private readonly em: EntityManager) {}

  /** One page of the report, read by keyset in the chosen order; limit+1 rows for "is there more". */
  async page(certificationId: number, view: ReportView, page: PageQuery): Promise<ReportRow[]> {
    const columns = [...SORTS[view.sort]];
    const keyset = keysetClause(columns, view.dir, page);
    const filter = filterSql(certificationId, view);
    const rows = await this.em.getConnection().execute(
      `select e.id, e.learner_id, l.first_name, l.last_name, e.learner_id_number, e.type, e.summary, e.evidence, e.raised_at,
              ${keyset.select}
         from exception e
         join learner l on l.id = e.learner_id
        where ${filter.sql} and ${keyset.where}
        order by ${keyset.orderBy}
        limit ?`,
      [...filter.params, ...keyset.params, PAGE_SIZE + 1],
    );
    return rows.map((r: any) => ({
      id: Number(r.id),
      learnerId: r.learner_id,
      firstName: r.first_name,
      lastName: r.last_name,
      idNumber: r.learner_id_number,
      type: r.type,
      summary: r.summary,
      evidence: r.evidence,
      raisedAt: r.raised_at,
      key: rowKey(r, columns.length),
    }));
  }

  /** Open exceptions by type under a filter (the Select options and the "N selected" sentence). */
  async countsByType(certificationId: number, filter: ReportFilter): Promise<Partial<Record<ExceptionType, number>>> {
    const where = filterSql(certificationId, filter);
    // Without a search the kept counts answer; a search counts its (few) matches.
    const rows = await this.em
      .getConnection()
      .execute(
        filter.q
          ? `select e.type, count(*)::int as n from exception e where ${where.sql} group by e.type`
          : `select type, n from exception_open_count where certification_id = ? and n > 0 ${filter.type ? 'and type = ?' : ''}`,
        filter.q ? where.params : [certificationId, ...(filter.type ? [filter.type] : [])],
      );
    const counts: Partial<Record<ExceptionType, number>> = {};
    for (const row of rows) counts[row.type as ExceptionType] = row.n;
    return counts;
  }

  async summarise(certificationId: number, selection: Selection): Promise<SelectionSummary> {
    const conn = this.em.getConnection();
    if (selection.mode === 'handled_by') return { countsByType: {}, total: 0, notOpen: 0, foreign: 0 };
    if (selection.mode === 'condition') {
      const filter = selection.condition === 'all' ? selection.filter : { ...selection.filter, type: selection.condition };
      if (selection.condition !== 'all' && selection.filter.type && selection.filter.type !== selection.condition) {
        return { countsByType: {}, total: 0, notOpen: 0, foreign: 0 };
      }
      const countsByType = await this.countsByType(certificationId, filter);
      return { countsByType, total: sum(countsByType), notOpen: 0, foreign: 0 };
    }
    const rows = await conn.execute(
      `select e.type, (e.status = 'open') as open, (e.certification_id = ?) as here, count(*)::int as n
         from exception e where e.id = any(?::bigint[]) group by 1, 2, 3`,
      [certificationId, intArray(selection.ids)],
    );
    const countsByType: Partial<Record<ExceptionType, number>> = {};
    let notOpen = 0;
    let found = 0;
    for (const row of rows) {
      found += row.n;
      if (!row.here) continue;
      if (row.open) countsByType[row.type as ExceptionType] = (countsByType[row.type as ExceptionType] ?? 0) + row.n;
      else notOpen += row.n;
    }
    const foreign = selection.ids.length - found + rows.filter((r: any) => !r.here).reduce((n: number, r: any) => n + r.n, 0);
    return { countsByType, total: sum(countsByType), notOpen, foreign };
  }

  /** The first learners of a selection with their current and realistic due dates (confirmation preview). */
  async realisticPreview(certificationId: number, selection: Selection, limit = 10) {
    const { sql, params } = selectionSql(certificationId, selection);
    return this.em.getConnection().execute(
      `select l.first_name as "firstName", l.last_name as "lastName", l.id_number as "idNumber", m.due_at as "currentDue",
              ${REALISTIC_DUE_SQL} as "newDue"
         from exception e
         join membership m on m.id = e.membership_id
         join certification c on c.id = e.certification_id
         join learner l on l.id = e.learner_id
        where ${sql} and e.status = 'open'
        order by e.learner_sort_name, e.id
        limit ?`,
      [...params, limit],
    );
  }
}

/** Days from now to the realistic due date: the path's total minimum time plus the buffer. */
export const REALISTIC_DAYS_SQL = `(case m.current_path when 'recertification' then c.recertification_min_days
  else c.certification_min_days end) + c.realistic_buffer_days`;

/** The realistic due date of membership `m` in certification `c`; never earlier than the due date it has. */
export const REALISTIC_DUE_SQL = `greatest(m.due_at, now() + make_interval(days => ${REALISTIC_DAYS_SQL}))`;

/** The exceptions a selection covers (open or not: ticked rows that were handled are reported). */
export function selectionSql(certificationId: number, selection: Selection): { sql: string; params: unknown[] } {
  if (selection.mode === 'ids') {
    return { sql: 'e.certification_id = ? and e.id = any(?::bigint[])', params: [certificationId, intArray(selection.ids)] };
  }
  if (selection.mode === 'handled_by') {
    return {
      sql: `e.certification_id = ? and e.id in (select i.exception_id from bulk_action_item i where i.bulk_action_id = ? and i.outcome = 'applied')`,
      params: [certificationId, selection.bulkActionId],
    };
  }
  const filter = selection.condition === 'all' ? selection.filter : { ...selection.filter, type: selection.condition };
  return filterSql(certificationId, filter);
}

function sum(counts: Partial<Record<ExceptionType, number>>): number {
  return EXCEPTION_TYPES.reduce((n, type) => n + (counts[type] ?? 0), 0);
}
