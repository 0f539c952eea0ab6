import { Sql, sql } from './sql';

describe('the sql tag', () => {
  it('binds each value as one parameter and splices fragments with theirs, in order', () => {
    const type = 'time_allowance';
    const filter = sql`e.certification_id = ${7} and e.type = ${type}`;
    const query = sql`select id from exception e where ${filter} and e.id > ${40} limit ${50}`;
    expect(query).toEqual(
      new Sql('select id from exception e where e.certification_id = ? and e.type = ? and e.id > ? limit ?', [7, type, 40, 50]),
    );
  });

  it('passes an array as one array literal, never as a spread of parameters', () => {
    const ids = Array.from({ length: 70_000 }, (_, i) => i + 1);
    const query = sql`select 1 where 5 = any(${ids}::int[]) and 'a' = any(${['a', 'O"Brien']}::text[])`;
    expect(query.params).toHaveLength(2);
    expect(String(query.params[0]).startsWith('{1,2,3,')).toBe(true);
    expect(query.params[1]).toBe('{"a","O\\"Brien"}');
    expect(() => sql`${[1, 'two']}`).toThrow(TypeError);
  });

  it('joins fragments and takes trusted text as it is', () => {
    const parts = [sql`a = ${1}`, sql`b = ${2}`, sql.raw('c is null')];
    expect(sql.join(parts, ' and ')).toEqual(new Sql('a = ? and b = ? and c is null', [1, 2]));
    expect(sql`order by ${sql.raw('e.raised_at')} desc`.text).toBe('order by e.raised_at desc');
  });

  it('numbers the placeholders for PostgreSQL, and refuses a text whose placeholders and parameters disagree', () => {
    const query = sql`select id from exception where certification_id = ${7} and type = any(${['a', 'b']}::text[]) limit ${50}`;
    expect(query.numberedText).toBe('select id from exception where certification_id = $1 and type = any($2::text[]) limit $3');
    expect(() => new Sql('select ?', []).numberedText).toThrow(/1 placeholders for 0 parameters/);
  });
});
