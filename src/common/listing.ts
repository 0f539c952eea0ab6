import { Sql, sql, SqlRunner } from '../database/sql';
import { Direction, finishPage, Keyset, keysetSql, PageLink, PageQuery, pageQuery, Pagination } from './keyset';
import { UrlBuilder } from './url';

/** List pages: a search term and keyset paging in the query string, sortable headers, 50 rows a page. */
export const PAGE_SIZE = 50;

export interface ListQuery {
  q: string;
  page: PageQuery;
}

/** The longest search term a list takes: longer input is cut, not refused. */
const SEARCH_MAX_LENGTH = 200;

export function searchTerm(raw: unknown): string {
  return typeof raw === 'string' ? raw.trim().slice(0, SEARCH_MAX_LENGTH) : '';
}

/** A list's search and sort, as every list page reads them from the query string. */
export interface ListView<Sort extends string> {
  q: string;
  sort: Sort;
  dir: Direction;
}

/** `sorts`: the list's sort keys (an unknown one falls back to `defaultSort`). */
export function parseListView<Sort extends string>(
  query: Record<string, unknown>,
  sorts: Readonly<Record<Sort, unknown>>,
  defaultSort: Sort,
): ListView<Sort> {
  const sort = typeof query.sort === 'string' && Object.hasOwn(sorts, query.sort) ? (query.sort as Sort) : defaultSort;
  return { q: searchTerm(query.q), sort, dir: query.dir === 'desc' ? 'desc' : 'asc' };
}

/** `sortColumns`: the key's columns (so that a timestamp's cursor is checked), or just how many. */
export function listQuery(query: Record<string, unknown>, sortColumns: number | readonly string[]): ListQuery {
  return { q: searchTerm(query.q), page: pageQuery(query, sortColumns) };
}

/** A lower-case LIKE pattern for "contains", with \\, % and _ taken literally. */
export function likeContains(term: string): string {
  return '%' + term.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

/**
 * "The learner in `learnerIdColumn` matches a search by name or ID number": the learner trigram
 * index (learner_search_trgm) finds the few matching learners first. `learnerIdColumn` comes from
 * the code, never from input.
 */
export function learnerMatchesSql(learnerIdColumn: string, q: string): Sql {
  return sql`${sql.raw(learnerIdColumn)} in (select ls.id from learner ls
            where lower(ls.first_name || ' ' || ls.last_name || ' ' || ls.id_number) like ${likeContains(q)})`;
}

/** The table caption: `Learners`, or `Learners matching “ada”` while searching. */
export function searchCaption(label: string, q: string): string {
  return q ? `${label} matching “${q}”` : label;
}

export type AriaSort = 'ascending' | 'descending' | undefined;

/** `aria-sort` of a column header: set only on the column the list is sorted by. */
export function ariaSort(current: { sort: string; dir: Direction }, column: string): AriaSort {
  if (current.sort !== column) return undefined;
  return current.dir === 'asc' ? 'ascending' : 'descending';
}

/** A list's sort as query parameters, the defaults left out: the ascending direction, and `defaultSort`. */
export function sortParams<Sort extends string>(
  view: { sort: Sort; dir: Direction },
  defaultSort?: Sort,
): { sort: Sort | undefined; dir: Direction | undefined } {
  return { sort: view.sort === defaultSort ? undefined : view.sort, dir: view.dir === 'asc' ? undefined : view.dir };
}

export interface SortHeader {
  label: string;
  href: string;
  ariaSort: AriaSort;
}

/**
 * A sortable column header: a link that sorts by it (or flips the direction when it is the
 * current sort), keeping the list's other parameters (`keep`; by default its search). Defaults
 * stay out of the link: `dir=asc`, and the sort when it is `defaultSort`.
 */
export function sortHeader(
  urls: UrlBuilder,
  path: string,
  label: string,
  column: string,
  current: { sort: string; dir: Direction; q: string },
  keep: Record<string, string | undefined> = { q: current.q },
  defaultSort?: string,
): SortHeader {
  const dir: Direction = current.sort === column && current.dir === 'asc' ? 'desc' : 'asc';
  return {
    label,
    href: urls.withQuery(path, { ...keep, ...sortParams({ sort: column, dir }, defaultSort) }),
    ariaSort: ariaSort(current, column),
  };
}

export interface KeysetPage<T> {
  rows: T[];
  pagination: Pagination;
}

/**
 * Runs a keyset-paged query through `db`: `select` builds the statement from the page's
 * condition and order, and must return the columns `keyOf` reads (its own, or `keyset.select`).
 */
export async function readKeysetPage<T extends object>(
  db: SqlRunner,
  options: {
    select: (keyset: Keyset) => Sql;
    keyColumns: readonly string[];
    direction: Direction;
    page: PageQuery;
    keyOf: (row: T) => Array<string | number>;
    hrefFor: (param: PageLink) => string;
    /** How many rows the whole list has, when known without counting them. */
    total?: number | null;
  },
): Promise<KeysetPage<T>> {
  const keyset = keysetSql(options.keyColumns, options.direction, options.page);
  const rows = await db.rows<T>(sql`${options.select(keyset)} limit ${PAGE_SIZE + 1}`);
  return finishPage(rows, PAGE_SIZE, options.page, options.keyOf, options.hrefFor, options.total ?? null);
}
