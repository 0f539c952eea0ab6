import { Direction, finishPage, keysetClause, PageLink, PageQuery, pageQuery, Pagination } from './keyset';
import { UrlBuilder } from './url';

/** List pages: a search term and keyset paging in the query string, sortable headers, 50 rows a page. */
export const PAGE_SIZE = 50;

export interface ListQuery {
  q: string;
  page: PageQuery;
}

export function searchTerm(raw: unknown): string {
  return typeof raw === 'string' ? raw.trim().slice(0, 200) : '';
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
 * index (learner_search_trgm) finds the few matching learners first.
 */
export function learnerMatches(learnerIdColumn: string, q: string): { sql: string; param: string } {
  return {
    sql: `${learnerIdColumn} in (select ls.id from learner ls
            where lower(ls.first_name || ' ' || ls.last_name || ' ' || ls.id_number) like ?)`,
    param: likeContains(q),
  };
}

/** The table caption: `Learners`, or `Learners matching “ada”` while searching. */
export function searchCaption(label: string, q: string): string {
  return q ? `${label} matching “${q}”` : label;
}

/** A sortable column header: a link that sorts by it (or flips the direction when it is the current sort). */
export function sortHeader(
  urls: UrlBuilder,
  path: string,
  label: string,
  column: string,
  current: { sort: string; dir: Direction; q: string },
) {
  const isCurrent = current.sort === column;
  const dir: Direction = isCurrent && current.dir === 'asc' ? 'desc' : 'asc';
  return {
    label,
    href: urls.withQuery(path, { q: current.q, sort: column, dir }),
    ariaSort: isCurrent ? (current.dir === 'asc' ? 'ascending' : 'descending') : undefined,
  };
}

export interface KeysetPage<T> {
  rows: T[];
  pagination: Pagination;
}

/** Runs a keyset-paged query: `select` must contain `{where}` and `{orderBy}` and return the key columns. */
export async function readPage<T>(
  run: (sql: string, params: unknown[]) => Promise<T[]>,
  options: {
    select: string;
    params?: unknown[];
    keyColumns: string[];
    direction: Direction;
    page: PageQuery;
    keyOf: (row: T) => Array<string | number>;
    hrefFor: (param: PageLink) => string;
    /** How many rows the whole list has, when known without counting them. */
    total?: number | null;
  },
): Promise<KeysetPage<T>> {
  const clause = keysetClause(options.keyColumns, options.direction, options.page);
  const sql = options.select.replace('{where}', clause.where).replace('{orderBy}', clause.orderBy) + ` limit ${PAGE_SIZE + 1}`;
  const rows = await run(sql, [...(options.params ?? []), ...clause.params]);
  return finishPage(rows, PAGE_SIZE, options.page, options.keyOf, options.hrefFor, options.total ?? null);
}
