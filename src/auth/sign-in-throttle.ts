import { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction, sql, SqlRunner } from '../database/sql';
import {
  FAILURE_DELAY_BASE_MS,
  FAILURE_DELAY_CAP_MS,
  FAILURE_WINDOW_MINUTES,
  MAX_FAILURES_PER_ADDRESS,
  MAX_FAILURES_PER_USERNAME,
} from './session-policy';

/** Attempts within the window: for this username from this address, and from this address at all. */
interface RecentAttemptsRow {
  by_pair: number;
  by_address: number;
}

export type AttemptTicket = { allowed: false } | { allowed: true; delayMs: number };

/** The wait before checking a password after this many earlier failures of the same pair. */
export function failureDelayMs(earlierFailures: number): number {
  if (earlierFailures <= 0) return 0;
  return Math.min(FAILURE_DELAY_BASE_MS * 2 ** (earlierFailures - 1), FAILURE_DELAY_CAP_MS);
}

/**
 * Records an attempt before its password is checked. The row is written under a lock on the
 * address, so however many requests race, at most the allowed number get a ticket; a request past
 * either limit gets none and its password is never checked.
 */
export function takeAttempt(em: EntityManager, username: string, address: string): Promise<AttemptTicket> {
  return inTransaction(em, async (db) => {
    await db.run(sql`select pg_advisory_xact_lock(hashtextextended(${'sign-in:' + address}, 0))`);
    const recent = await db.one<RecentAttemptsRow>(
      sql`select count(*) filter (where lower(username) = lower(${username}))::int as by_pair,
                 count(*)::int as by_address
            from login_attempt
           where ip = ${address}
             and attempted_at > now() - make_interval(mins => ${FAILURE_WINDOW_MINUTES})`,
    );
    const byPair = recent?.by_pair ?? 0;
    if (byPair >= MAX_FAILURES_PER_USERNAME || (recent?.by_address ?? 0) >= MAX_FAILURES_PER_ADDRESS) return { allowed: false };
    await db.run(sql`insert into login_attempt (username, ip, attempted_at) values (${username.slice(0, 100)}, ${address}, now())`);
    return { allowed: true, delayMs: failureDelayMs(byPair) };
  });
}

/** After a right password: the pair starts again; other addresses' attempts on the username stay. */
export async function forgetPair(db: SqlRunner, username: string, address: string): Promise<void> {
  await db.run(sql`delete from login_attempt where lower(username) = lower(${username}) and ip = ${address}`);
}

/** Clears every attempt on a username, from any address: what a site administrator does. */
export function clearUsername(db: SqlRunner, username: string): Promise<number> {
  return db.run(sql`delete from login_attempt where lower(username) = lower(${username})`);
}
