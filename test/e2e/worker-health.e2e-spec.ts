import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { WorkerHealth, WorkerHealthReport } from '../../src/health/worker-health';
import { MaintenanceProcessor } from '../../src/jobs/maintenance.processor';
import { MAIL_QUEUE, MAINTENANCE_QUEUE, PURGE_SCHEDULE } from '../../src/jobs/queues';
import { startTestApp, TestApp } from '../support/app';

describe('a worker’s health on its own port', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await startTestApp({ PROCESS_ROLE: 'worker', BASE_PATH: '/intranet/certex' });
    const port = await t.app.get(WorkerHealth).listen(0);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => t?.close());

  async function health(path = '/health'): Promise<{ status: number; body: WorkerHealthReport }> {
    const res = await fetch(base + path);
    return { status: res.status, body: (await res.json()) as WorkerHealthReport };
  }

  it('says that PostgreSQL and Redis are up, every queue is processed here and every schedule is in Redis', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ok', role: 'worker', postgres: 'up', redis: 'up' });
    expect(body.queues).toEqual({
      'membership-sync': 'processing',
      lifecycle: 'processing',
      maintenance: 'processing',
      mail: 'processing',
      'bulk-actions': 'processing',
      'learner-messages': 'processing',
      'admin-notices': 'processing',
    });
    expect(body.schedules['mail-tick']).toEqual({ every: '3 s', next: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string });
    expect(body.schedules['purge-expired']).toMatchObject({ every: '1 h' });
    expect(body.schedules['requeue-unfinished']).toMatchObject({ every: '1 min' });
    // Schedules that change data are left to the tests themselves.
    expect(body.schedules['membership-sync-schedule']).toBe('not started under NODE_ENV=test');
    expect((await health('/intranet/certex/health')).status).toBe(200);
  });

  it('answers 503 naming a paused queue, and 200 again once it is resumed', async () => {
    const mail = t.app.get<Queue>(getQueueToken(MAIL_QUEUE), { strict: false });
    await mail.pause(true);
    try {
      const { status, body } = await health();
      expect(status).toBe(503);
      expect(body.status).toBe('unavailable');
      expect(body.queues.mail).toBe('paused');
    } finally {
      await mail.resume(true);
    }
    expect((await health()).status).toBe(200);
  });

  it('answers 503 naming a schedule gone from Redis, and 200 once the worker puts it back', async () => {
    const maintenance = t.app.get<Queue>(getQueueToken(MAINTENANCE_QUEUE), { strict: false });
    await maintenance.removeRepeatable(PURGE_SCHEDULE.job, { every: PURGE_SCHEDULE.everyMs, jobId: PURGE_SCHEDULE.id });
    const gone = await health();
    expect(gone.status).toBe(503);
    expect(gone.body.schedules['purge-expired']).toBe('missing');

    await t.app.get(MaintenanceProcessor).schedule();
    expect((await health()).status).toBe(200);
  });

  it('answers nothing but GET /health', async () => {
    expect((await fetch(`${base}/certifications`)).status).toBe(404);
    expect((await fetch(`${base}/health`, { method: 'POST' })).status).toBe(404);
  });
});
