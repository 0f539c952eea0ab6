import { randomBytes } from 'node:crypto';
import Bull from 'bull';
import { BULK_ACTIONS_QUEUE } from '../../src/jobs/queues';
import { createExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp } from '../support/app';
import { TEST_REDIS_URL } from '../support/databases';
import { bulkJobIdOf, FINISHED, startBulkAction, waitForState } from '../support/bulk';

/**
 * The database is recreated (or restored from a backup) while Redis keeps its data: bulk action ids
 * start again at 1, and Redis still holds the completed job of the old bulk action 1. A new bulk
 * action must not meet that job: it runs at once, not a minute later when the sweep for lost jobs
 * (every 60 s, for actions older than 30 s) would rescue it.
 */
describe('bulk action jobs on a recreated database, Redis kept', () => {
  const sharedPrefix = `certex-t-${process.env.CERTEX_TEST_RUN}-shared-${randomBytes(4).toString('hex')}`;
  const apps: TestApp[] = [];

  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  /** A fresh database (copied from the migrated template) with one admin and 3 open exceptions. */
  async function freshInstallation() {
    const t = await startTestApp({ REDIS_PREFIX: sharedPrefix });
    apps.push(t);
    await t.createStaff('ada', 'admin');
    const admin = await t.signedIn('ada');
    const fixture = await createExceptionFixture(t.db, { prefix: 'RC', counts: { time_allowance: 3 } });
    return { t, admin, fixture };
  }

  async function jobInRedis(jobId: string) {
    const queue = new Bull(BULK_ACTIONS_QUEUE, { redis: TEST_REDIS_URL, prefix: sharedPrefix });
    try {
      const job = await queue.getJob(jobId);
      return job && { state: await job.getState(), bulkActionId: job.data.bulkActionId };
    } finally {
      await queue.close();
    }
  }

  it('gives the new bulk action 1 its own job, which completes promptly beside the old completed job', async () => {
    const before = await freshInstallation();
    const firstId = await startBulkAction(before.admin, before.fixture.certificationId, {
      action: 'assign',
      reason: 'Before the restore',
      expectedCount: 3,
    });
    expect(firstId).toBe(1);
    expect(await waitForState(before.t.db, firstId, FINISHED, 15000, () => '')).toMatchObject({ state: 'completed', applied: 3 });
    const firstJobId = await bulkJobIdOf(before.t.db, firstId);
    for (let i = 0; (await jobInRedis(firstJobId))?.state !== 'completed'; i++) {
      if (i > 100) throw new Error(`the first job is ${JSON.stringify(await jobInRedis(firstJobId))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The old installation goes away; its Redis data stays.
    apps.splice(apps.indexOf(before.t), 1);
    await before.t.close();

    const after = await freshInstallation();
    const started = Date.now();
    const secondId = await startBulkAction(after.admin, after.fixture.certificationId, {
      action: 'assign',
      reason: 'After the restore',
      expectedCount: 3,
    });
    expect(secondId).toBe(firstId);
    expect(await waitForState(after.t.db, secondId, FINISHED, 15000, () => `still waiting after ${Date.now() - started} ms`)).toMatchObject(
      {
        state: 'completed',
        applied: 3,
      },
    );
    expect(Date.now() - started).toBeLessThan(15000);

    const secondJobId = await bulkJobIdOf(after.t.db, secondId);
    expect(secondJobId).not.toBe(firstJobId);
    expect(secondJobId).toMatch(/^bulk-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    // Both jobs are in the shared Redis, each its own, both completed.
    expect(await jobInRedis(firstJobId)).toEqual({ state: 'completed', bulkActionId: 1 });
    for (let i = 0; (await jobInRedis(secondJobId))?.state !== 'completed'; i++) {
      if (i > 100) throw new Error(`the second job is ${JSON.stringify(await jobInRedis(secondJobId))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await jobInRedis(secondJobId)).toEqual({ state: 'completed', bulkActionId: 1 });
  });
});
