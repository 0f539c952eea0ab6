import { Sql, sql } from '../database/sql';

/**
 * Keyset paging: a page is "the N rows after (or before) this sort key", never an OFFSET, so the
 * last page costs what the first does. Sort keys must be NOT NULL (coalesce them in SQL) and end
 * with a unique column (the id).
 */
export type CursorValue = string | number;
export type Direction = 'asc' | 'desc';

export interface PageQuery {
  /** The sort key of the last row of the previous page. */
  after: CursorValue[] | null;
  /** The sort key of the first row of the next page (going back). */
  before: CursorValue[] | null;
  /** The last page: read from the end, no cursor needed. */
  last?: boolean;
  /**
   * Where the page starts (1 for the first row), carried in the page links: a keyset page cannot
   * know its offset without counting every row before it.
   */
  from?: number | null;
}

export function encodeCursor(values: CursorValue[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(raw: unknown, length: number): CursorValue[] | null {
  if (typeof raw !== 'string' || raw === '' || raw.length > 1000) return null;
  try {
    const values: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (!Array.isArray(values) || values.length !== length) return null;
    const cursor: unknown[] = values;
    // PostgreSQL text cannot hold NUL.
    const fits = (v: unknown): v is CursorValue =>
      (typeof v === 'string' && !v.includes('\u0000')) || (typeof v === 'number' && Number.isFinite(v));
    if (!cursor.every(fits)) return null;
    return cursor;
  } catch {
    return null;
  }
}

/**
 * The page asked for in the query string. A cursor that does not fit the sort columns (wrong
 * length, an id that is not a whole number, a date column's value that is not a date) is ignored:
 * a tampered link shows the first page instead of an error.
 */
export function pageQuery(query: Record<string, unknown>, sortColumns: number | readonly string[]): PageQuery {
  const columns = typeof sortColumns === 'number' ? Array.from({ length: sortColumns }, () => '') : sortColumns;
  const fits = (values: CursorValue[] | null) => (values && cursorFits(columns, values) ? values : null);
  const after = fits(decodeCursor(query.after, columns.length));
  const before = after ? null : fits(decodeCursor(query.before, columns.length));
  const last = !after && !before && query.page === 'last';
  const from = (after || before) && typeof query.from === 'string' && /^[1-9]\d{0,8}$/.test(query.from) ? Number(query.from) : null;
  return { after, before, last, from };
}

/** Sort columns that hold timestamps: named …_at, or coalesced to a timestamp. */
const DATE_COLUMN = /(_at\b|::timestamptz)/;
/** A timestamp as PostgreSQL writes one (2026-11-28 10:00:00.123456+00) or as ISO 8601 (…T…Z). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2}){0,2})$/;

/** Whether PostgreSQL reads the value as a timestamp: JavaScript's Date also takes "1" or 31 February. */
function isTimestamp(value: string): boolean {
  if (value === 'infinity') return true;
  const match = TIMESTAMP.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return year > 0 && date.getUTCMonth() === month - 1 && date.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
}

/** Every sort key but the last is read back as text (rowKey); the last is the unique id. */
function cursorFits(columns: readonly string[], values: CursorValue[]): boolean {
  const id = values[values.length - 1];
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) return false;
  return columns.slice(0, -1).every((column, i) => {
    const value = values[i];
    return typeof value === 'string' && (!DATE_COLUMN.test(column) || isTimestamp(value));
  });
}

/** One page's condition, order and key columns, as fragments of the `sql` tag. */
export interface Keyset {
  /** The rows after (or before) the cursor: its values travel as parameters. */
  where: Sql;
  orderBy: Sql;
  /** The row's key, read back for the cursor (`rowKey`). */
  select: Sql;
  /** `page_row`: the row's place in the page, 1 for the first read (for a statement that wraps the page's). */
  rowNumber: Sql;
}

/** A page's statement, and how the rows it returns become the page's rows. */
export interface PageRead<Row> {
  statement: Sql;
  rows(read: Array<Record<string, unknown>>): Row[];
}

/**
 * The WHERE fragment and ORDER BY for one page. Going back ("before") reads in reverse order;
 * `finishPage` puts the rows the right way round again. `columns` come from a fixed list, never input.
 */
export function keysetSql(columns: readonly string[], direction: Direction, page: PageQuery): Keyset {
  const reverse = page.before !== null || page.last === true;
  const effective: Direction = reverse ? (direction === 'asc' ? 'desc' : 'asc') : direction;
  const cursor = page.after ?? page.before;
  const orderBy = sql.raw(columns.map((c) => `${c} ${effective}`).join(', '));
  // Every column but the unique id as text, so that a timestamp keeps its full precision (a JS
  // Date would drop its microseconds).
  const select = sql.raw(columns.map((c, i) => (i < columns.length - 1 ? `(${c})::text` : c) + ` as key_${i}`).join(', '));
  const rowNumber = sql`row_number() over (order by ${orderBy}) as page_row`;
  if (!cursor) return { where: sql`true`, orderBy, select, rowNumber };
  const op = sql.raw(effective === 'asc' ? '>' : '<');
  const values = sql.join(
    cursor.map((value) => sql`${value}`),
    ', ',
  );
  return { where: sql`(${sql.raw(columns.join(', '))}) ${op} (${values})`, orderBy, select, rowNumber };
}

/** The sort key of a row read with `keysetSql(...).select`. */
export function rowKey(row: Record<string, unknown>, length: number): CursorValue[] {
  return Array.from({ length }, (_, i) => (i < length - 1 ? String(row[`key_${i}`]) : Number(row[`key_${i}`])));
}

export interface Pagination {
  previousHref?: string;
  nextHref?: string;
  firstHref?: string;
  lastHref?: string;
  /** Where the reader is: "51–100 of 85,000", or "Showing 51–100" when the total is not known. */
  position?: string;
}

export type PageLink = { after?: string; before?: string; page?: 'last'; from?: number };

const COUNT = new Intl.NumberFormat('en-GB');

/**
 * The page's place in the list. The first and last pages know theirs exactly; the others trust
 * the `from` their link carried, kept within the total.
 */
function pagePosition(
  shown: number,
  page: PageQuery,
  ends: { first: boolean; last: boolean },
  total: number | null,
): { from: number | null; text: string } {
  let from: number | null = ends.first ? 1 : ends.last && total !== null ? Math.max(1, total - shown + 1) : (page.from ?? null);
  if (from !== null && total !== null && from + shown - 1 > total) from = Math.max(1, total - shown + 1);
  if (from === null) return { from, text: ends.last ? `Showing the last ${COUNT.format(shown)}` : `Showing ${COUNT.format(shown)}` };
  const range = `${COUNT.format(from)}–${COUNT.format(from + shown - 1)}`;
  return { from, text: total === null ? `Showing ${range}` : `${range} of ${COUNT.format(Math.max(total, from + shown - 1))}` };
}

/**
 * Given the rows read with LIMIT limit+1, returns the page's rows in display order and the links.
 * `hrefFor` builds a link for a cursor parameter ({after} or {before}), keeping filters and sort.
 * `total`: how many rows the whole list has, when that is known without counting them (null: not known).
 */
export function finishPage<T>(
  rows: T[],
  limit: number,
  page: PageQuery,
  keyOf: (row: T) => CursorValue[],
  hrefFor: (param: PageLink) => string,
  total: number | null = null,
): { rows: T[]; pagination: Pagination } {
  const more = rows.length > limit;
  let visible = more ? rows.slice(0, limit) : rows;
  const goingBack = page.before !== null || page.last === true;
  if (goingBack) visible = visible.reverse();
  const pagination: Pagination = {};
  if (visible.length > 0) {
    const first = visible[0];
    const last = visible[visible.length - 1];
    const hasPrevious = goingBack ? more : page.after !== null;
    const hasNext = page.last ? false : goingBack ? true : more;
    const position = pagePosition(visible.length, page, { first: !hasPrevious, last: !hasNext }, total);
    pagination.position = position.text;
    const from = (value: number | null) => (value === null ? {} : { from: value });
    if (hasPrevious) {
      pagination.previousHref = hrefFor({
        before: encodeCursor(keyOf(first)),
        ...from(position.from === null ? null : Math.max(1, position.from - limit)),
      });
      pagination.firstHref = hrefFor({});
    }
    if (hasNext) {
      pagination.nextHref = hrefFor({
        after: encodeCursor(keyOf(last)),
        ...from(position.from === null ? null : position.from + visible.length),
      });
      pagination.lastHref = hrefFor({ page: 'last' });
    }
  } else if (page.after || page.before || page.last) {
    pagination.firstHref = hrefFor({});
  }
  return { rows: visible, pagination };
}

/**
 * Every row of a keyset-ordered read, a page at a time (for a CSV download, never all in memory).
 * `read` returns up to `limit` + 1 rows after the cursor, in order, each with its sort key.
 */
export async function* readAllPages<Row extends { key: CursorValue[] }>(
  read: (page: PageQuery, limit: number) => Promise<Row[]>,
  pageSize: number,
): AsyncGenerator<Row[]> {
  let after: CursorValue[] | null = null;
  for (;;) {
    const rows = await read({ after, before: null }, pageSize - 1);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1].key;
  }
}
