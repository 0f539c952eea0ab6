import { sql, SqlRunner } from './sql';

/**
 * The lock class of a certification's memberships and exceptions: membership sync, a bulk
 * action's chunks and the confirmation of a bulk action take it, so that two of them never change
 * the same certification at once.
 */
export const CERTIFICATION_LOCK_CLASS = 7301;

/** Takes the certification's lock until the end of `db`'s transaction. */
export async function lockCertification(db: SqlRunner, certificationId: number): Promise<void> {
  await db.run(sql`select pg_advisory_xact_lock(${CERTIFICATION_LOCK_CLASS}, ${certificationId})`);
}
