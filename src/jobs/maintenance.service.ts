import { Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';

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
    return this.em.transactional(async (em) => {
      const conn = em.getConnection();
      const trx = em.getTransactionContext();
      const claimed = await conn.execute(
        `insert into maintenance_run (run_key, sessions_removed, attempts_removed) values (?, 0, 0)
         on conflict (run_key) do nothing returning run_key`,
        [runKey],
        'all',
        trx,
      );
      if (claimed.length === 0) return { runKey, sessionsRemoved: 0, attemptsRemoved: 0, alreadyDone: true };
      const sessions = await conn.execute('delete from session where expire < now() returning sid', [], 'all', trx);
      const attempts = await conn.execute(
        `delete from login_attempt where attempted_at < now() - interval '1 day' returning id`,
        [],
        'all',
        trx,
      );
      const result = { sessionsRemoved: sessions.length, attemptsRemoved: attempts.length };
      await conn.execute(
        'update maintenance_run set sessions_removed = ?, attempts_removed = ? where run_key = ?',
        [result.sessionsRemoved, result.attemptsRemoved, runKey],
        'run',
        trx,
      );
      return { runKey, ...result, alreadyDone: false };
    });
  }
}
