import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, Direction, keysetSql, PageQuery, PageRead, readAllPages, rowKey } from '../common/keyset';
import { PAGE_SIZE, parseListView } from '../common/listing';
import { sql, SqlRunner } from '../database/sql';
import { EXCEPTION_TYPES, ExceptionType, isExceptionType } from './exception-rules';
import { AgeFilter, ageFilter, isAgeBucket } from './exception-age';
import { conditionFilter, filterSql, realisticDueSql, ReportFilter, Selection, SelectionSummary, selectionSql } from './selection';

export const SORTS = {
  learner: ['e.learner_sort_name', 'e.id'],
  idnumber: ['e.learner_id_number', 'e.id'],
  issue: ['e.type', 'e.learner_sort_name', 'e.id'],
  raised: ['e.raised_at', 'e.id'],
} as const;
export type SortKey = keyof typeof SORTS;

/**
 * Rows read per keyset page of the CSV download. A page is still held while the next one is read
 * and the client takes it, so whatever a young-generation collection finds of it then moves to the
 * old generation as garbage; pages of 2000 (with their evidence) grew the heap by 140 MB over
 * 850,000 rows, pages of 500 by a quarter of that, and read no slower.
 */
const CSV_PAGE_SIZE = 500;

/** The orders that start with the learner's name (after the type, for Issue). */
const NAME_ORDERED: ReadonlySet<SortKey> = new Set(['learner', 'issue']);

/** A search's matches are counted on the report page up to this many. */
export const SEARCH_COUNT_LIMIT = 1000;

export interface ReportView extends ReportFilter {
  age: AgeFilter | null;
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

/** A learner of the realistic due date preview, with the due date now and the one the action sets. */
export interface RealisticPreviewRow {
  firstName: string;
  lastName: string;
  idNumber: string;
  currentDue: Date | null;
  newDue: Date;
}

type PageRow = {
  id: string;
  learner_id: number;
  first_name: string;
  last_name: string;
  learner_id_number: string;
  type: ExceptionType;
  summary: string;
  evidence: unknown;
  raised_at: Date;
  [key: `key_${number}`]: unknown;
};

/**
 * A report row made from a row as read. A class, not an object literal, because V8 moves a
 * literal whose objects survive young-generation collections to the old generation
 * ("pretenuring"), and a CSV download keeps each page of 2000 rows over the wait for the client:
 * the literal's later rows were then made straight into the old generation, each a page of garbage
 * until the next full collection. Objects made by a class are never pretenured.
 */
class ReadReportRow implements ReportRow {
  readonly id: number;
  readonly learnerId: number;
  readonly firstName: string;
  readonly lastName: string;
  readonly idNumber: string;
  readonly type: ExceptionType;
  readonly summary: string;
  readonly evidence: unknown;
  readonly raisedAt: Date;
  readonly key: CursorValue[];

  constructor(r: PageRow, keyLength: number) {
    this.id = Number(r.id);
    this.learnerId = r.learner_id;
    this.firstName = r.first_name;
    this.lastName = r.last_name;
    this.idNumber = r.learner_id_number;
    this.type = r.type;
    this.summary = r.summary;
    this.evidence = r.evidence;
    this.raisedAt = r.raised_at;
    this.key = rowKey(r, keyLength);
  }
}

interface TypeCountRow {
  type: ExceptionType;
  n: number;
}

interface TickedCountRow extends TypeCountRow {
  open: boolean;
  here: boolean;
}

/** The report's view from a query or form; the age filter's days are those of `zone` as of `now`. */
export function parseView(query: Record<string, unknown>, zone: string, now: Date = new Date()): ReportView {
  return {
    ...parseListView(query, SORTS, 'learner'),
    type: isExceptionType(query.type) ? query.type : null,
    age: isAgeBucket(query.age) ? ageFilter(query.age, zone, now) : null,
  };
}

@Injectable()
export class ExceptionReportService {
  private readonly db: SqlRunner;

  constructor(em: EntityManager) {
    this.db = new SqlRunner(em);
  }

  /** One page of the report, read by keyset in the chosen order; limit+1 rows for "is there more". */
  async page(certificationId: number, view: ReportView, page: PageQuery, limit = PAGE_SIZE): Promise<ReportRow[]> {
    const read = this.pageRead(certificationId, view, page, limit);
    return read.rows(await this.db.rows(read.statement));
  }

  /**
   * The statement of a page and how its rows are read (CertificationsService.pageWithRows runs it
   * with the header). The page's exceptions are chosen first and only they are joined to their
   * learners. A search in an order that starts with the learner's name reads its matches first
   * (trigram index) and sorts them: a surname's matches sit together in name order, so walking the
   * name index until enough of them turn up reads most of the certification. In the other orders
   * the matches of a common search are spread out, and the planner may walk the order's index instead.
   */
  pageRead(certificationId: number, view: ReportView, page: PageQuery, limit = PAGE_SIZE): PageRead<ReportRow> {
    const columns = [...SORTS[view.sort]];
    const keyset = keysetSql(columns, view.dir, page);
    const filter = filterSql(certificationId, view);
    // OFFSET 0 keeps the page's order and cursor out of the matches' own plan.
    const source =
      view.q && NAME_ORDERED.has(view.sort)
        ? sql`(select ${sql.raw(columns.join(', '))} from exception e where ${filter} offset 0) e where`
        : sql`exception e where ${filter} and`;
    const chosen = sql`select e.id from ${source} ${keyset.where} order by ${keyset.orderBy} limit ${limit + 1}`;
    return {
      statement: sql`select e.id, e.learner_id, l.first_name, l.last_name, e.learner_id_number, e.type, e.summary, e.evidence, e.raised_at,
              ${keyset.select}, ${keyset.rowNumber}
         from exception e
         join learner l on l.id = e.learner_id
        where e.id in (${chosen})
        order by ${keyset.orderBy}`,
      rows: (read) => (read as PageRow[]).map((r) => new ReadReportRow(r, columns.length)),
    };
  }

  /** Every row of the report in its order, a page at a time (the CSV download). */
  allRows(certificationId: number, view: ReportView, pageSize = CSV_PAGE_SIZE): AsyncGenerator<ReportRow[]> {
    return readAllPages((page, limit) => this.page(certificationId, view, page, limit), pageSize);
  }

  /** Open exceptions by type under a filter (the confirmation page and the bulk action's checks). */
  async countsByType(certificationId: number, filter: ReportFilter): Promise<Partial<Record<ExceptionType, number>>> {
    // Without a search or an age filter the kept counts answer.
    const rows = await this.db.rows<TypeCountRow>(
      filter.q || filter.age
        ? sql`select e.type, count(*)::int as n from exception e where ${filterSql(certificationId, filter)} group by e.type`
        : sql`select type, n from exception_open_count
               where certification_id = ${certificationId} and n > 0 ${filter.type ? sql`and type = ${filter.type}` : sql``}`,
    );
    return byType(rows);
  }

  /**
   * The report page's counts of a search by type, or null when more than SEARCH_COUNT_LIMIT match:
   * counting every match of a common name on every page view would read them all, and the
   * confirmation page counts the selection exactly before anything is done.
   */
  async searchCounts(certificationId: number, filter: ReportFilter): Promise<Partial<Record<ExceptionType, number>> | null> {
    const rows = await this.db.rows<TypeCountRow>(
      sql`select type, count(*)::int as n
            from (select e.type from exception e where ${filterSql(certificationId, filter)} limit ${SEARCH_COUNT_LIMIT + 1}) matches
           group by type`,
    );
    const counts = byType(rows);
    return sum(counts) > SEARCH_COUNT_LIMIT ? null : counts;
  }

  async summarise(certificationId: number, selection: Selection): Promise<SelectionSummary> {
    if (selection.mode === 'handled_by') return { countsByType: {}, total: 0, notOpen: 0, foreign: 0 };
    if (selection.mode === 'condition') {
      if (selection.condition !== 'all' && selection.filter.type && selection.filter.type !== selection.condition) {
        return { countsByType: {}, total: 0, notOpen: 0, foreign: 0 };
      }
      const countsByType = await this.countsByType(certificationId, conditionFilter(selection));
      return { countsByType, total: sum(countsByType), notOpen: 0, foreign: 0 };
    }
    const rows = await this.db.rows<TickedCountRow>(
      sql`select e.type, (e.status = 'open') as open, (e.certification_id = ${certificationId}) as here, count(*)::int as n
         from exception e where e.id = any(${selection.ids}::bigint[]) group by 1, 2, 3`,
    );
    const countsByType: Partial<Record<ExceptionType, number>> = {};
    let notOpen = 0;
    let found = 0;
    let elsewhere = 0;
    for (const row of rows) {
      found += row.n;
      if (!row.here) elsewhere += row.n;
      else if (row.open) countsByType[row.type] = (countsByType[row.type] ?? 0) + row.n;
      else notOpen += row.n;
    }
    const foreign = selection.ids.length - found + elsewhere;
    return { countsByType, total: sum(countsByType), notOpen, foreign };
  }

  /** The first learners of a selection with their current and realistic due dates (confirmation preview). */
  async realisticPreview(certificationId: number, selection: Selection, siteZone: string, limit = 10): Promise<RealisticPreviewRow[]> {
    return this.db.rows<RealisticPreviewRow>(
      sql`select l.first_name as "firstName", l.last_name as "lastName", l.id_number as "idNumber", m.due_at as "currentDue",
              ${realisticDueSql(siteZone)} as "newDue"
         from exception e
         join membership m on m.id = e.membership_id
         join certification c on c.id = e.certification_id
         join learner l on l.id = e.learner_id
        where ${selectionSql(certificationId, selection)} and e.status = 'open'
        order by e.learner_sort_name, e.id
        limit ${limit}`,
    );
  }
}

function byType(rows: TypeCountRow[]): Partial<Record<ExceptionType, number>> {
  const counts: Partial<Record<ExceptionType, number>> = {};
  for (const row of rows) counts[row.type] = row.n;
  return counts;
}

function sum(counts: Partial<Record<ExceptionType, number>>): number {
  return EXCEPTION_TYPES.reduce((n, type) => n + (counts[type] ?? 0), 0);
}
