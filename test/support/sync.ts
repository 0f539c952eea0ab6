import type { TestApp } from './app';

/** The newest sync run so far, so that a wait can look only at the runs after it. */
export async function lastSyncRunId(t: TestApp): Promise<number> {
  return Number((await t.db.query(`select coalesce(max(id), 0) as id from sync_run`)).rows[0].id);
}

/**
 * Polls until the in-process worker has finished a sync of the certification with this reason,
 * started after `afterRunId`; answers its sync_run row (stats included).
 */
export async function waitForSyncRun(t: TestApp, certificationId: number, reason: string, afterRunId: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.db.query(
      `select * from sync_run where certification_id = $1 and reason = $2 and id > $3 and finished_at is not null order by id limit 1`,
      [certificationId, reason, afterRunId],
    );
    if (rows[0]) return rows[0];
    if (Date.now() > deadline) throw new Error(`no sync of certification ${certificationId} for "${reason}" within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** yyyy-mm-dd of the day `days` from today (UTC), as a date field is typed. */
export function dateIn(days: number): string {
  return new Date(Date.now() + days * 24 * 3600 * 1000).toISOString().slice(0, 10);
}
