import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { intArray, textArray } from '../common/sql';

/**
 * A statement and its parameters, made by the `sql` tag. Each `${value}` becomes one bound
 * parameter; a `${fragment}` made by `sql` (or `sql.raw` for trusted text such as a column name
 * from a fixed list) is spliced in with its own parameters, so conditions compose without
 * counting placeholders. An array becomes one array literal (cast it: `any(${ids}::int[])`),
 * never a spread of parameters, however many values it holds.
 */
export class Sql {
  constructor(
    readonly text: string,
    readonly params: readonly unknown[],
  ) {}
}

export function sql(strings: TemplateStringsArray, ...values: unknown[]): Sql {
  let text = strings[0];
  const params: unknown[] = [];
  values.forEach((value, index) => {
    if (value instanceof Sql) {
      text += value.text;
      params.push(...value.params);
    } else {
      text += '?';
      params.push(parameter(value));
    }
    text += strings[index + 1];
  });
  return new Sql(text, params);
}

/** Trusted SQL text with no parameters: identifiers and keywords chosen from a fixed list, never input. */
sql.raw = (text: string): Sql => new Sql(text, []);

/** Fragments joined by a separator (`and`, `, `). */
sql.join = (parts: readonly Sql[], separator: string): Sql =>
  new Sql(
    parts.map((part) => part.text).join(separator),
    parts.flatMap((part) => part.params),
  );

function parameter(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  if (value.every((item): item is number => typeof item === 'number')) return intArray(value);
  if (value.every((item): item is string => typeof item === 'string')) return textArray(value);
  throw new TypeError('An array parameter must hold only numbers or only strings');
}

/**
 * The one way Certex runs set-based SQL: through the EntityManager it is given, inside that
 * manager's transaction when it has one. Rows come back as the caller's named row type.
 */
export class SqlRunner {
  constructor(private readonly em: EntityManager) {}

  rows<Row extends object>(query: Sql): Promise<Row[]> {
    return this.em.getConnection().execute<Row[]>(query.text, query.params as unknown[], 'all', this.em.getTransactionContext());
  }

  async one<Row extends object>(query: Sql): Promise<Row | undefined> {
    const [row] = await this.rows<Row>(query);
    return row;
  }

  /** Runs a statement for its effect; the number of rows it touched. */
  async run(query: Sql): Promise<number> {
    const result = await this.em
      .getConnection()
      .execute<{ affectedRows: number }>(query.text, query.params as unknown[], 'run', this.em.getTransactionContext());
    return result.affectedRows;
  }

  /**
   * For a large parameter (a batch of rows as JSON): the parameters travel apart from the text,
   * where `rows` copies each into the statement, which costs more than the database's own work.
   */
  async bound<Row extends object>(query: Sql): Promise<Row[]> {
    const raw = this.em
      .getConnection()
      .getKnex()
      .raw(query.text, query.params as never[]);
    const transaction = this.em.getTransactionContext<Knex.Transaction>();
    const result = (await (transaction ? raw.transacting(transaction) : raw)) as { rows: Row[] };
    return result.rows;
  }
}

/** Runs work in one transaction of `em`, its SQL through that transaction. */
export function inTransaction<T>(em: EntityManager, work: (db: SqlRunner, em: EntityManager) => Promise<T>): Promise<T> {
  return em.transactional((tx) => work(new SqlRunner(tx), tx));
}
