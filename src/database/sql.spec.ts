import type { EntityManager } from '@mikro-orm/postgresql';
import { Sql, sql, SqlRunner } from './sql';

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

/** A connection pool as the runner sees it, answering each statement through the driver's callback. */
function fakePool(answer: (text: string, values: unknown[]) => { rows: unknown[]; rowCount: number } | Error) {
  const events: string[] = [];
  const connection = {
    query({ text, values }: { text: string; values: unknown[] }, callback: (error: Error | null, result?: unknown) => void) {
      events.push(`query ${text} ${JSON.stringify(values)}`);
      const result = answer(text, values);
      // The driver answers from its socket, after the caller has gone on.
      setImmediate(() => (result instanceof Error ? callback(result) : callback(null, result)));
    },
    getTypeParser: () => (text: string) => text,
  };
  const source = {
    acquireConnection: () => {
      events.push('acquire');
      return Promise.resolve(connection);
    },
    releaseConnection: () => {
      events.push('release');
      return Promise.resolve();
    },
  };
  const em = {
    getTransactionContext: () => undefined,
    getConnection: () => ({ getKnex: () => ({ client: source }) }),
  } as unknown as EntityManager;
  return { runner: new SqlRunner(em), events };
}

describe('SqlRunner', () => {
  it('sends the numbered text and its parameters, answers with the rows and gives the connection back', async () => {
    const { runner, events } = fakePool(() => ({ rows: [{ id: 1 }, { id: 2 }], rowCount: 2 }));
    await expect(runner.rows(sql`select id from learner where id > ${0} limit ${2}`)).resolves.toEqual([{ id: 1 }, { id: 2 }]);
    expect(events).toEqual(['acquire', 'query select id from learner where id > $1 limit $2 [0,2]', 'release']);
  });

  it('answers a statement run for its effect with the rows it touched', async () => {
    const { runner } = fakePool(() => ({ rows: [], rowCount: 3 }));
    await expect(runner.run(sql`delete from outbox where id = any(${[1, 2, 3]}::bigint[])`)).resolves.toBe(3);
  });

  it("rejects with the driver's own error when a statement fails, and still gives the connection back", async () => {
    const failure = Object.assign(new Error('duplicate key value violates unique constraint "staff_username_key"'), { code: '23505' });
    const { runner, events } = fakePool(() => failure);
    const outcome = runner.run(sql`insert into staff (username) values (${'ada'})`);
    await expect(outcome).rejects.toBe(failure);
    expect(failure).toMatchObject({ code: '23505' });
    expect(events).toEqual(['acquire', 'query insert into staff (username) values ($1) ["ada"]', 'release']);
  });
});
