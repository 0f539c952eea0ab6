import type { Pool } from 'pg';

/**
 * The baseline the set-based bulk action is measured against: Assign applied the way a naive
 * ORM-style implementation would, one exception at a time, one transaction each, with separate
 * statements to load and save the exception and its membership and to write the audit row.
 */
export async function naiveAssign(db: Pool, certificationId: number, staffId: number, reason: string): Promise<{ handled: number }> {
  const client = await db.connect();
  try {
    const { rows } = await client.query(`select id from exception where certification_id = $1 and status = 'open' order by id`, [
      certificationId,
    ]);
    let handled = 0;
    for (const { id } of rows) {
      await client.query('begin');
      try {
        const exception = (await client.query('select * from exception where id = $1', [id])).rows[0];
        if (exception.status !== 'open') {
          await client.query('rollback');
          continue;
        }
        await client.query(`update exception set status = 'assigned', handled_at = now(), handled_by = $2, reason = $3 where id = $1`, [
          id,
          staffId,
          reason,
        ]);
        const membership = (await client.query('select * from membership where id = $1', [exception.membership_id])).rows[0];
        await client.query(`update membership set exception_status = 'assigned', assigned_at = now() where id = $1`, [membership.id]);
        await client.query(
          `insert into exception_audit (exception_id, membership_id, certification_id, action, reason, staff_id,
                                        status_before, status_after, due_before, due_after)
           values ($1, $2, $3, 'assign', $4, $5, 'open', 'assigned', $6, $6)`,
          [id, membership.id, certificationId, reason, staffId, membership.due_at],
        );
        await client.query('commit');
        handled++;
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
    }
    return { handled };
  } finally {
    client.release();
  }
}
