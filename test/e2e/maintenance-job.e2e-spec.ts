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

  it('runs through the real queue and worker', async () => {
    await t.db.query(`insert into session (sid, sess, expire) values ('stale', '{}', now() - interval '1 day')`);
    const queue = t.app.get<Queue>(getQueueToken(MAINTENANCE_QUEUE));
    const job = await queue.add(PURGE_JOB, {}, { jobId: 'manual-purge' });
    const result = await job.finished();
    expect(result.sessionsRemoved).toBeGreaterThanOrEqual(1);
    expect((await t.db.query(`select count(*) from session where sid = 'stale'`)).rows[0].count).toBe('0');
  });
});
