import type { EntityManager } from '@mikro-orm/postgresql';

/** Raw SQL inside a transaction (`?` placeholders), answering the rows. */
export type Run = <T = unknown>(sql: string, params?: unknown[]) => Promise<T[]>;

/** Runs work in one transaction, its SQL through the transaction's connection. */
export function inTransaction<T>(em: EntityManager, work: (run: Run) => Promise<T>): Promise<T> {
  return em.transactional((tx) =>
    work(<R>(sql: string, params: unknown[] = []) => tx.getConnection().execute<R[]>(sql, params as any[], 'all', tx.getTransactionContext())),
  );
}
