import type { EntityManager } from '@mikro-orm/postgresql';

/** Raw SQL inside a transaction (`?` placeholders), answering the rows. */
export type Run = <T = unknown>(sql: string, params?: unknown[]) => Promise<T[]>;

/**
 * Raw SQL whose parameters travel apart from its text, for a large value (a batch of rows as JSON):
 * `Run` copies every parameter into the SQL text, which costs more than the database's own work.
 */
export type RunBound = (sql: string, params: unknown[]) => Promise<unknown>;

/** Runs work in one transaction, its SQL through the transaction's connection. */
export function inTransaction<T>(em: EntityManager, work: (run: Run, runBound: RunBound) => Promise<T>): Promise<T> {
  return em.transactional((tx) =>
    work(
      <R>(sql: string, params: unknown[] = []) => tx.getConnection().execute<R[]>(sql, params, 'all', tx.getTransactionContext()),
      async (sql, params) =>
        tx
          .getConnection()
          .getKnex()
          .raw(sql, params as any[])
          .transacting(tx.getTransactionContext()!),
    ),
  );
}
