import { Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTransaction, sql } from '../database/sql';

export interface PurgeResult {
  runKey: string;
  sessionsRemoved: number;
  attemptsRemoved: number;
  alreadyDone: boolean;
}

/**
 * The pattern every job follows: its own EntityManager context, one transaction, and a run key
 * from business facts so that a job delivered twice changes nothing the second time.
 */
@Injectable()
export class MaintenanceService {
  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
  ) {}

  @CreateRequestContext()
  async purgeExpired(runKey: string): Promise<PurgeResult> {
    return inTransaction(this.em, async (db) => {
      const claimed = await db.run(sql`
        insert into maintenance_run (run_key, sessions_removed, attempts_removed) values (${runKey}, 0, 0)
        on conflict (run_key) do nothing`);
      if (claimed === 0) return { runKey, sessionsRemoved: 0, attemptsRemoved: 0, alreadyDone: true };
      const sessionsRemoved = await db.run(sql`delete from session where expire < now()`);
      const attemptsRemoved = await db.run(sql`delete from login_attempt where attempted_at < now() - interval '1 day'`);
      // Audience member uploads checked but never saved (their learners go with them).
      await db.run(sql`delete from pending_member_upload where expires_at < now()`);
      // Quarter hours whose open exceptions have all been handled. Rows another transaction is
      // changing are skipped, not waited for: they are left for the next run.
      await db.run(sql`delete from exception_open_quarter_count q
         using (select certification_id, type, raised_quarter from exception_open_quarter_count where n = 0
                 order by 1, 2, 3 for update skip locked) emptied
        where (q.certification_id, q.type, q.raised_quarter) = (emptied.certification_id, emptied.type, emptied.raised_quarter)`);
      await db.run(sql`
        update maintenance_run set sessions_removed = ${sessionsRemoved}, attempts_removed = ${attemptsRemoved}
         where run_key = ${runKey}`);
      return { runKey, sessionsRemoved, attemptsRemoved, alreadyDone: false };
    });
  }
}
