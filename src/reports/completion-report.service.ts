import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, Direction, keysetSql, PageQuery, PageRead, readAllPages, rowKey } from '../common/keyset';
import { Sql, sql, SqlRunner } from '../database/sql';
import { countsForEveryState, REPORT_STATES, ReportState } from './report-states';
import { learnerMatchesSql, PAGE_SIZE, parseListView } from '../common/listing';

/** Rows read per keyset page of a CSV download. */
const CSV_PAGE_SIZE = 2000;

/** Sort columns: each matches an index of membership (the dates exactly as coalesced there). */
export const COMPLETION_SORTS = {
  learner: ['m.learner_sort_name', 'm.id'],
  idnumber: ['m.learner_id_number', 'm.id'],
  state: ['m.report_state', 'm.learner_sort_name', 'm.id'],
  due: ["coalesce(m.due_at, 'infinity'::timestamptz)", 'm.id'],
  certified: ["coalesce(m.certified_at, 'infinity'::timestamptz)", 'm.id'],
  expires: ["coalesce(m.expires_at, 'infinity'::timestamptz)", 'm.id'],
} as const;
export type CompletionSort = keyof typeof COMPLETION_SORTS;

export interface CompletionView {
  q: string;
  state: ReportState | null;
  sort: CompletionSort;
  dir: Direction;
}

export interface CompletionRow {
  id: number;
  firstName: string;
  lastName: string;
  idNumber: string;
  state: ReportState;
  dueAt: Date | null;
  certifiedAt: Date | null;
  expiresAt: Date | null;
  key: CursorValue[];
}

function isReportState(value: unknown): value is ReportState {
  return typeof value === 'string' && (REPORT_STATES as string[]).includes(value);
}

export function parseCompletionView(query: Record<string, unknown>): CompletionView {
  return { ...parseListView(query, COMPLETION_SORTS, 'learner'), state: isReportState(query.state) ? query.state : null };
}

/** Active memberships of a certification under a search and state filter (the search uses the learner trigram index). */
export function completionFilterSql(certificationId: number, filter: { q: string; state: ReportState | null }): Sql {
  const parts = [sql`m.certification_id = ${certificationId}`, sql`m.removed_at is null`];
  if (filter.state) parts.push(sql`m.report_state = ${filter.state}`);
  if (filter.q) parts.push(learnerMatchesSql('m.learner_id', filter.q));
  return sql.join(parts, ' and ');
}

/** A row of the report as read. */
interface CompletionDbRow {
  id: number;
  first_name: string;
  last_name: string;
  learner_id_number: string;
  report_state: ReportState;
  due_at: Date | null;
  certified_at: Date | null;
  expires_at: Date | null;
}

/**
 * A report row made from a row as read: a class, not an object literal, so that V8 never
 * pretenures it (see ReadReportRow in the Exception report's service).
 */
class ReadCompletionRow implements CompletionRow {
  readonly id: number;
  readonly firstName: string;
  readonly lastName: string;
  readonly idNumber: string;
  readonly state: ReportState;
  readonly dueAt: Date | null;
  readonly certifiedAt: Date | null;
  readonly expiresAt: Date | null;
  readonly key: CursorValue[];

  constructor(r: CompletionDbRow & Record<string, unknown>, keyLength: number) {
    this.id = Number(r.id);
    this.firstName = r.first_name;
    this.lastName = r.last_name;
    this.idNumber = r.learner_id_number;
    this.state = r.report_state;
    this.dueAt = r.due_at;
    this.certifiedAt = r.certified_at;
    this.expiresAt = r.expires_at;
    this.key = rowKey(r, keyLength);
  }
}

@Injectable()
export class CompletionReportService {
  constructor(private readonly em: EntityManager) {}

  /** One keyset page in the chosen order; reads limit+1 rows so the caller knows whether there is more. */
  async page(certificationId: number, view: CompletionView, page: PageQuery, limit = PAGE_SIZE): Promise<CompletionRow[]> {
    const read = this.pageRead(certificationId, view, page, limit);
    return read.rows(await new SqlRunner(this.em).rows(read.statement));
  }

  /** The statement of a page and how its rows are read (CertificationsService.pageWithRows runs it with the header). */
  pageRead(certificationId: number, view: CompletionView, page: PageQuery, limit = PAGE_SIZE): PageRead<CompletionRow> {
    const columns = [...COMPLETION_SORTS[view.sort]];
    const keyset = keysetSql(columns, view.dir, page);
    return {
      statement: sql`
      select m.id, l.first_name, l.last_name, m.learner_id_number, m.report_state, m.due_at, m.certified_at, m.expires_at,
             ${keyset.select}, ${keyset.rowNumber}
        from membership m
        join learner l on l.id = m.learner_id
       where ${completionFilterSql(certificationId, view)} and ${keyset.where}
       order by ${keyset.orderBy}
       limit ${limit + 1}`,
      rows: (read) => (read as Array<CompletionDbRow & Record<string, unknown>>).map((r) => new ReadCompletionRow(r, columns.length)),
    };
  }

  /** Every matching row in order, a keyset page at a time (for the CSV download). */
  allRows(certificationId: number, view: CompletionView, pageSize = CSV_PAGE_SIZE): AsyncGenerator<CompletionRow[]> {
    return readAllPages((page, limit) => this.page(certificationId, view, page, limit), pageSize);
  }

  /**
   * Active memberships per report state under a search, in one query over the state index. Without
   * a search, a count per state is an index-only scan of that state's part of the index, about
   * twice as fast over 100,000 memberships as grouping them all (which the planner reads by seq scan).
   */
  /** The members a search matches, by state (without a search, the page header's kept counts answer). */
  async searchCountsByState(certificationId: number, q: string): Promise<Record<ReportState, number>> {
    const rows = await new SqlRunner(this.em).rows<{ report_state: ReportState; n: number }>(
      sql`select m.report_state, count(*)::int as n from membership m
           where ${completionFilterSql(certificationId, { q, state: null })} group by m.report_state`,
    );
    return countsForEveryState(Object.fromEntries(rows.map((row) => [row.report_state, row.n])));
  }
}
