import { Sql } from '../database/sql';
import { decodeCursor, encodeCursor, finishPage, keysetSql, pageQuery, readAllPages, rowKey } from './keyset';

describe('keyset paging', () => {
  it('round-trips a cursor and rejects tampered ones', () => {
    expect(decodeCursor(encodeCursor(['smith', 42]), 2)).toEqual(['smith', 42]);
    expect(decodeCursor(encodeCursor(['smith']), 2)).toBeNull();
    expect(decodeCursor(encodeCursor(['a\u0000b', 42]), 2)).toBeNull();
    expect(decodeCursor('not base64 json', 2)).toBeNull();
    expect(decodeCursor(Buffer.from('[{"a":1},2]').toString('base64url'), 2)).toBeNull();
  });

  it('reads forward after a cursor and backward before one', () => {
    expect(keysetSql(['a', 'id'], 'asc', { after: ['x', 1], before: null })).toEqual({
      where: new Sql('(a, id) > (?, ?)', ['x', 1]),
      orderBy: new Sql('a asc, id asc', []),
      select: new Sql('(a)::text as key_0, id as key_1', []),
      rowNumber: new Sql('row_number() over (order by a asc, id asc) as page_row', []),
    });
    expect(keysetSql(['a', 'id'], 'asc', { after: null, before: ['x', 1] }).orderBy.text).toBe('a desc, id desc');
    expect(keysetSql(['a', 'id'], 'desc', { after: ['x', 1], before: null }).where.text).toBe('(a, id) < (?, ?)');
  });

  it('links to the next page only when a row beyond the page was read', () => {
    const href = (p: { after?: string; before?: string; from?: number }) => JSON.stringify(p);
    const key = (n: number) => [n];
    const full = finishPage([1, 2, 3], 2, { after: null, before: null }, key, href);
    expect(full.rows).toEqual([1, 2]);
    expect(full.pagination.nextHref).toBe(href({ after: encodeCursor([2]), from: 3 }));
    expect(full.pagination.previousHref).toBeUndefined();
    const last = finishPage([3], 2, { after: [2], before: null, from: 3 }, key, href);
    expect(last.pagination.nextHref).toBeUndefined();
    expect(last.pagination.previousHref).toBe(href({ before: encodeCursor([3]), from: 1 }));
    const back = finishPage([2, 1], 2, { after: null, before: [3] }, key, href);
    expect(back.rows).toEqual([1, 2]);
    expect(back.pagination.previousHref).toBeUndefined();
  });

  it('says where the page is: exact at the ends, carried by the links in between, "of N" only when the total is known', () => {
    const href = (p: object) => JSON.stringify(p);
    const key = (n: number) => [n];
    const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    expect(finishPage(rows(1, 3), 2, { after: null, before: null }, key, href, 85000).pagination.position).toBe('1–2 of 85,000');
    expect(finishPage(rows(51, 51), 50, { after: [50], before: null, from: 51 }, key, href, 85000).pagination.position).toBe(
      '51–100 of 85,000',
    );
    expect(finishPage(rows(51, 51), 50, { after: [50], before: null, from: 51 }, key, href).pagination.position).toBe('Showing 51–100');
    // A link without a place (or a tampered one) does not make one up.
    expect(finishPage(rows(51, 51), 50, { after: [50], before: null }, key, href).pagination.position).toBe('Showing 50');
    // The last page knows its place from the total, and the first page always starts at 1.
    expect(finishPage(rows(84999, 51).reverse(), 50, { after: null, before: null, last: true }, key, href, 85049).pagination.position).toBe(
      '85,000–85,049 of 85,049',
    );
    expect(finishPage(rows(1, 50).reverse(), 50, { after: null, before: [51], from: 7 }, key, href, 100).pagination.position).toBe(
      '1–50 of 100',
    );
    // A place beyond the total (rows handled since) is kept within it.
    expect(finishPage(rows(51, 10), 50, { after: [50], before: null, from: 91 }, key, href, 60).pagination.position).toBe('51–60 of 60');
    expect(pageQuery({ after: encodeCursor([3]), from: '51' }, 1).from).toBe(51);
    expect(pageQuery({ after: encodeCursor([3]), from: '0' }, 1).from).toBeNull();
    expect(pageQuery({ from: '51' }, 1).from).toBeNull();
  });

  it("reads a row's key back as text (full precision) and the id as a number", () => {
    expect(rowKey({ key_0: '2026-11-28 20:00:00.123456+00', key_1: '42' }, 2)).toEqual(['2026-11-28 20:00:00.123456+00', 42]);
  });

  it('reads the last page from the end without a cursor', () => {
    const href = (p: object) => JSON.stringify(p);
    expect(keysetSql(['a', 'id'], 'asc', { after: null, before: null, last: true })).toEqual({
      where: new Sql('true', []),
      orderBy: new Sql('a desc, id desc', []),
      select: new Sql('(a)::text as key_0, id as key_1', []),
      rowNumber: new Sql('row_number() over (order by a desc, id desc) as page_row', []),
    });
    const lastPage = finishPage([9, 8, 7], 2, { after: null, before: null, last: true }, (n: number) => [n], href);
    expect(lastPage.rows).toEqual([8, 9]);
    expect(lastPage.pagination.nextHref).toBeUndefined();
    expect(lastPage.pagination.previousHref).toBe(href({ before: encodeCursor([8]) }));
    const first = finishPage([1, 2, 3], 2, { after: null, before: null }, (n: number) => [n], href);
    expect(first.pagination.lastHref).toBe(href({ page: 'last' }));
  });

  it('ignores a cursor that does not fit the sort columns', () => {
    const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const columns = ["coalesce(m.due_at, 'infinity'::timestamptz)", 'm.id'];
    expect(pageQuery({ after: cursor(['2026-11-28 10:00:00+00', 3]) }, columns).after).toEqual(['2026-11-28 10:00:00+00', 3]);
    expect(pageQuery({ after: cursor(['infinity', 3]) }, columns).after).toEqual(['infinity', 3]);
    expect(pageQuery({ after: cursor(['not a date', 3]) }, columns).after).toBeNull();
    expect(pageQuery({ after: cursor(['2026-11-28', 'x']) }, columns).after).toBeNull();
    expect(pageQuery({ after: cursor(['smith', 3]) }, ['m.learner_sort_name', 'm.id']).after).toEqual(['smith', 3]);
    // PostgreSQL would refuse these where JavaScript's Date does not; a number is never a text key.
    expect(pageQuery({ after: cursor(['1', 3]) }, columns).after).toBeNull();
    expect(pageQuery({ after: cursor(['2024-02-31 00:00:00+00', 3]) }, columns).after).toBeNull();
    expect(pageQuery({ after: cursor(['2026-11-28T10:00:00.123456Z', 3]) }, columns).after).toEqual(['2026-11-28T10:00:00.123456Z', 3]);
    expect(pageQuery({ after: cursor([0, 3]) }, ['m.learner_sort_name', 'm.id']).after).toBeNull();
  });

  it('reads every row once, in order, a page at a time', async () => {
    const table = Array.from({ length: 10 }, (_, i) => ({ key: [i + 1] }));
    const read = ({ after }: { after: Array<string | number> | null }, limit: number) => {
      const from = after ? table.findIndex((row) => row.key[0] === after[0]) + 1 : 0;
      return Promise.resolve(table.slice(from, from + limit + 1));
    };
    for (const pageSize of [3, 5, 10, 11]) {
      const pages: number[][] = [];
      for await (const rows of readAllPages(read, pageSize)) pages.push(rows.map((row) => row.key[0]));
      expect(pages.flat()).toEqual(table.map((row) => row.key[0]));
      expect(pages.every((rows) => rows.length <= pageSize)).toBe(true);
    }
  });
});
