import { decodeCursor, encodeCursor, finishPage, keysetClause, pageQuery, rowKey } from './keyset';

describe('keyset paging', () => {
  it('round-trips a cursor and rejects tampered ones', () => {
    expect(decodeCursor(encodeCursor(['smith', 42]), 2)).toEqual(['smith', 42]);
    expect(decodeCursor(encodeCursor(['smith']), 2)).toBeNull();
    expect(decodeCursor('not base64 json', 2)).toBeNull();
    expect(decodeCursor(Buffer.from('[{"a":1},2]').toString('base64url'), 2)).toBeNull();
  });

  it('reads forward after a cursor and backward before one', () => {
    expect(keysetClause(['a', 'id'], 'asc', { after: ['x', 1], before: null })).toEqual({
      where: '(a, id) > (?, ?)',
      params: ['x', 1],
      orderBy: 'a asc, id asc',
      select: '(a)::text as key_0, id as key_1',
    });
    expect(keysetClause(['a', 'id'], 'asc', { after: null, before: ['x', 1] }).orderBy).toBe('a desc, id desc');
    expect(keysetClause(['a', 'id'], 'desc', { after: ['x', 1], before: null }).where).toBe('(a, id) < (?, ?)');
  });

  it('links to the next page only when a row beyond the page was read', () => {
    const href = (p: { after?: string; before?: string }) => JSON.stringify(p);
    const key = (n: number) => [n];
    const full = finishPage([1, 2, 3], 2, { after: null, before: null }, key, href);
    expect(full.rows).toEqual([1, 2]);
    expect(full.pagination.nextHref).toBe(href({ after: encodeCursor([2]) }));
    expect(full.pagination.previousHref).toBeUndefined();
    const last = finishPage([3], 2, { after: [2], before: null }, key, href);
    expect(last.pagination.nextHref).toBeUndefined();
    expect(last.pagination.previousHref).toBe(href({ before: encodeCursor([3]) }));
    const back = finishPage([2, 1], 2, { after: null, before: [3] }, key, href);
    expect(back.rows).toEqual([1, 2]);
    expect(back.pagination.previousHref).toBeUndefined();
  });

  it('reads a row\'s key back as text (full precision) and the id as a number', () => {
    expect(rowKey({ key_0: '2026-11-28 20:00:00.123456+00', key_1: '42' }, 2)).toEqual(['2026-11-28 20:00:00.123456+00', 42]);
  });

  it('reads the last page from the end without a cursor', () => {
    const href = (p: object) => JSON.stringify(p);
    expect(keysetClause(['a', 'id'], 'asc', { after: null, before: null, last: true })).toEqual({
      where: 'true',
      params: [],
      orderBy: 'a desc, id desc',
      select: '(a)::text as key_0, id as key_1',
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
});
