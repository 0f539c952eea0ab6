import type { EntityManager, Knex } from '@mikro-orm/postgresql';
import { types as pgTypes } from 'pg';
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

  /**
   * The text with `$1`, `$2`… for the placeholders, as PostgreSQL takes it. Every `?` is a
   * placeholder, as it is for the query builder: SQL that needs a literal question mark is not
   * written in Certex.
   */
  get numberedText(): string {
    let index = 0;
    const text = this.text.replace(/\?/g, () => `$${++index}`);
    if (index !== this.params.length) throw new Error(`a statement has ${index} placeholders for ${this.params.length} parameters`);
    return text;
  }
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

interface QueryResult {
  rows: unknown[];
  rowCount: number | null;
}

type TypeParser = (text: string) => unknown;

/** What the runner needs of a pg connection, as the pool behind the query builder hands it out. */
interface PgConnection {
  query(
    config: { text: string; values: unknown[]; types: { getTypeParser(oid: number, format?: string): TypeParser } },
    callback: (error: Error | null, result: QueryResult) => void,
  ): void;
  getTypeParser(oid: number, format?: string): TypeParser;
}

/** timestamp and timestamptz, which the ORM's connections give as text (the ORM parses them itself). */
const TIMESTAMP_TYPES = new Set([1114, 1184]);

/** The query builder's pool of connections, or the one connection of a transaction. */
interface ConnectionSource {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<void>;
}

/**
 * The one way Certex runs set-based SQL: through the EntityManager it is given, inside that
 * manager's transaction when it has one. Rows come back as the caller's named row type.
 *
 * A statement goes to PostgreSQL as it is, its parameters bound apart from the text, on a
 * connection of the ORM's own pool (or its transaction's connection): the ORM's query path
 * formats every value into the text and costs more than a report page's own statements.
 */
export class SqlRunner {
  constructor(private readonly em: EntityManager) {}

  async rows<Row extends object>(query: Sql): Promise<Row[]> {
    return (await this.send(query)).rows as Row[];
  }

  async one<Row extends object>(query: Sql): Promise<Row | undefined> {
    const [row] = await this.rows<Row>(query);
    return row;
  }

  /** Runs a statement for its effect; the number of rows it touched. */
  async run(query: Sql): Promise<number> {
    return (await this.send(query)).rowCount ?? 0;
  }

  private async send(query: Sql): Promise<QueryResult> {
    const transaction = this.em.getTransactionContext<Knex.Transaction>();
    const source = (transaction ?? this.em.getConnection().getKnex()).client as unknown as ConnectionSource;
    const text = query.numberedText;
    const connection = await source.acquireConnection();
    try {
      return await runQuery(connection, text, query.params as unknown[]);
    } catch (error) {
      // The driver's error carries the stack of the socket that read it; this one leads back to the caller.
      if (error instanceof Error) Error.captureStackTrace(error);
      throw error;
    } finally {
      await source.releaseConnection(connection);
    }
  }
}

/**
 * Runs one statement through the driver's callback form, never its promise form. The promise form
 * gives the driver's query object its callback only after the object is made, and then much of
 * each result it reads outlives the young generation: reading 170,000 report rows page by page left
 * 46 MB of dead rows in the old generation until a full collection. The callback form, with the
 * same rows, leaves next to nothing there.
 *
 * Timestamps come back as Dates, as the row types say; every other type as the connection reads it
 * (a date column stays its YYYY-MM-DD text, a calendar day rather than an instant).
 */
function runQuery(connection: PgConnection, text: string, values: unknown[]): Promise<QueryResult> {
  const types = {
    getTypeParser: (oid: number, format?: string): TypeParser =>
      TIMESTAMP_TYPES.has(oid) ? (pgTypes.getTypeParser(oid, 'text') as TypeParser) : connection.getTypeParser(oid, format),
  };
  return new Promise((resolve, reject) => {
    connection.query({ text, values, types }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Runs work in one transaction of `em`, its SQL through that transaction. */
export function inTransaction<T>(em: EntityManager, work: (db: SqlRunner, em: EntityManager) => Promise<T>): Promise<T> {
  return em.transactional((tx) => work(new SqlRunner(tx), tx));
}
