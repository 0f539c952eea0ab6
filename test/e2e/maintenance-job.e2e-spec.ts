import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { MAINTENANCE_QUEUE, PURGE_JOB } from '../../src/jobs/queues';
import { MaintenanceService } from '../../src/jobs/maintenance.service';
import { startTestApp, TestApp } from '../support/app';

describe('the job pattern: an idempotent maintenance job on Bull', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('schedules itself as a repeatable job in Redis', async () => {
    const queue = t.app.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    const repeatable = await queue.getRepeatableJobs();
    expect(repeatable.map((job) => job.name)).toContain(PURGE_JOB);
  });

  it('purges expired sessions once per run key, and a second delivery changes nothing', async () => {
    await t.db.query(
      `insert into session (sid, sess, expire) values ('old', '{}', now() - interval '1 day'), ('live', '{}', now() + interval '1 hour')`,
    );
    await t.db.query(`insert into login_attempt (username, ip, attempted_at) values ('x', '1.2.3.4', now() - interval '2 days')`);
    const service = t.app.get(MaintenanceService);
    const first = await service.purgeExpired('test-slot-1');
    expect(first).toEqual({ runKey: 'test-slot-1', sessionsRemoved: 1, attemptsRemoved: 1, alreadyDone: false });
    await t.db.query(`insert into session (sid, sess, expire) values ('old2', '{}', now() - interval '1 day')`);
    const again = await service.purgeExpired('test-slot-1');
    expect(again.alreadyDone).toBe(true);
    expect((await t.db.query(`select sid from session order by sid`)).rows.map((r) => r.sid)).toEqual(['live', 'old2']);
  });

  it("removes the overview's counts of quarter hours whose open exceptions are all handled, and keeps the rest", async () => {
    const certification = (
      await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
         values ('Counted', 'CNT', 1, 'year', 1, 'month') returning id`,
      )
    ).rows[0].id;
    await t.db.query(
      `insert into exception_open_quarter_count (certification_id, type, raised_quarter, n)
       values ($1, 'time_allowance', '2026-11-01 10:00Z', 0), ($1, 'time_allowance', '2026-11-01 10:15Z', 3), ($1, 'unknown', '2026-11-01 10:00Z', 0)`,
      [certification],
    );
    await t.app.get(MaintenanceService).purgeExpired('test-slot-quarters');
    const left = await t.db.query(`select type, n from exception_open_quarter_count where certification_id = $1`, [certification]);
    expect(left.rows).toEqual([{ type: 'time_allowance', n: 3 }]);
  });

  it('runs through the real queue and worker', async () => {
    await t.db.query(`insert into session (sid, sess, expire) values ('stale', '{}', now() - interval '1 day')`);
    const queue = t.app.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    const job = await queue.add(PURGE_JOB, {}, { jobId: 'manual-purge' });
    const result = await job.finished();
    expect(result.sessionsRemoved).toBeGreaterThanOrEqual(1);
    expect((await t.db.query(`select count(*) from session where sid = 'stale'`)).rows[0].count).toBe('0');
  });
});
