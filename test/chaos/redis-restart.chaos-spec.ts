import Bull from 'bull';
import Redis from 'ioredis';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient, TEST_PASSWORD } from '../support/app';
import { CertexProcess, startCertex, startWorker } from '../support/processes';
import { freePort, PrivateRedis, startRedisServer } from '../support/redis-server';
import {
  assignedExactlyOnce,
  bulkActionRow,
  bulkJob,
  FINISHED,
  holdMembershipOf,
  learnerDifferences,
  nthInChunkOrder,
  outcomeSummary,
  perExceptionSummary,
  sleep,
  startBulkAction,
  waitForState,
  waitUntilBlocked,
} from '../support/bulk';
import { BULK_ACTIONS_QUEUE, BULK_REQUEUE_JOB } from '../../src/jobs/queues';

/**
 * Redis is killed (SIGKILL) in the middle of bulk actions and started again on the same port and
 * data directory, while a web and a worker process keep running: every action still completes,
 * exactly as a clean run of the same action on an identical certification, and neither process
 * restarts. Once with README's Redis settings (append-only file, noeviction), where the jobs
 * survive the restart; once without persistence, where Redis comes back empty and the jobs are gone.
 */

const PER_TYPE = 1500;
const TOTAL = 2 * PER_TYPE;
const CHUNK = 100;
/** Chunks done before the fault: the held lock is in the next chunk. */
const DONE_BEFORE = 4 * CHUNK;
const REASON = 'Redis restart test';
/**
 * How long (at least) Redis stays down in the first test: long enough that Bull's default reconnect
 * delays (growing exponentially to 20 s) would leave the processes deaf for seconds after it is back.
 */
const OUTAGE_MS = 6000;
/** Every connection of the web and worker processes is back this soon after Redis is. */
const RECONNECT_WITHIN_MS = 3000;

interface Stack {
  redis: PrivateRedis;
  web: CertexProcess;
  worker: CertexProcess;
  admin: TestClient;
  output(): string;
}

describe('bulk actions while Redis is killed and restarted, web and worker kept running', () => {
  let t: TestApp;
  let adminId: number;
  const stacks: Stack[] = [];
  let fixtures: Record<string, ExceptionFixture>;
  let reference: { certificationId: number; bulkActionId: number };

  async function startStack(persistence: 'aof' | 'none'): Promise<Stack> {
    const redis = await startRedisServer({ persistence });
    const port = await freePort();
    const env = { DATABASE_URL: t.config.databaseUrl, REDIS_URL: redis.url, REDIS_PREFIX: t.config.redisPrefix };
    const web = startCertex({ ...env, PROCESS_ROLE: 'web', PORT: String(port) });
    const worker = startWorker({ ...t.config, redisUrl: redis.url }, { BULK_CHUNK_SIZE: String(CHUNK) });
    const stack: Stack = {
      redis,
      web,
      worker,
      admin: new TestClient(`http://127.0.0.1:${port}`, ''),
      output: () => `web:\n${web.output()}\nworker:\n${worker.output()}\nredis:\n${redis.output()}`,
    };
    stacks.push(stack);
    await Promise.all([web.ready, worker.ready]);
    await stack.admin.signIn('ada', TEST_PASSWORD);
    return stack;
  }

  /** Looks at the bulk actions queue in this stack's Redis (while it is up), as Bull sees it. */
  async function inQueue<T>(stack: Stack, look: (queue: Bull.Queue) => Promise<T>): Promise<T> {
    const queue = new Bull(BULK_ACTIONS_QUEUE, { redis: stack.redis.url, prefix: t.config.redisPrefix });
    try {
      return await look(queue);
    } finally {
      await queue.close();
    }
  }

  const jobState = async (stack: Stack, id: number) => (await bulkJob(t.db, stack.redis.url, t.config.redisPrefix, id))?.state ?? 'missing';

  async function waitForJob(stack: Stack, id: number, state: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while ((await jobState(stack, id)) !== state) {
      if (Date.now() > deadline)
        throw new Error(`the job of bulk action ${id} is ${await jobState(stack, id)} in Redis, not ${state}\n${stack.output()}`);
      await sleep(100);
    }
  }

  const assignAll = (stack: Stack, certificationId: number) =>
    startBulkAction(stack.admin, certificationId, { action: 'assign', reason: REASON, expectedCount: TOTAL });

  /** The progress page and its status endpoint, as the person who started the action sees them. */
  async function progressPage(stack: Stack, id: number): Promise<{ text: string; status: { state: string; processed: number } }> {
    const page = await stack.admin.get(`/admin/bulk-actions/${id}`);
    expect(page.status).toBe(200);
    const status = await stack.admin.get(`/admin/bulk-actions/${id}/status`);
    expect(status.status).toBe(200);
    return { text: mainText(page.text), status: status.body };
  }

  /** Completed, each exception applied once, and learner by learner (messages too) what the clean run left. */
  async function expectAsCleanRun(certificationId: number, bulkActionId: number) {
    if (!reference) throw new Error('no clean reference run: it is made by the first test');
    expect(await bulkActionRow(t.db, bulkActionId)).toEqual({
      state: 'completed',
      total: TOTAL,
      processed: TOTAL,
      applied: TOTAL,
      already_handled: 0,
      failed: 0,
    });
    expect(await perExceptionSummary(t.db, certificationId, bulkActionId, adminId)).toEqual(assignedExactlyOnce(TOTAL));
    const [faulted, clean] = [
      await outcomeSummary(t.db, certificationId, bulkActionId),
      await outcomeSummary(t.db, reference.certificationId, reference.bulkActionId),
    ];
    expect(faulted).toEqual(clean);
    expect(faulted.chunkSizes).toEqual([{ n: CHUNK, chunks: TOTAL / CHUNK }]);
    expect(await learnerDifferences(t.db, { certificationId, bulkActionId }, reference)).toEqual([]);
  }

  function expectStillRunning(stack: Stack, pids: { web: number; worker: number }) {
    expect({ web: stack.web.pid, worker: stack.worker.pid }).toEqual(pids);
    expect({ web: stack.web.alive, worker: stack.worker.alive }).toEqual({ web: true, worker: true });
  }

  beforeAll(async () => {
    t = await startTestApp({ PROCESS_ROLE: 'web' });
    adminId = await t.createStaff('ada', 'admin');
    const names = ['R', 'AOF', 'A', 'C', 'D'];
    const made = await Promise.all(
      names.map((prefix) =>
        createExceptionFixture(t.db, { prefix: `RR${prefix}`, counts: { time_allowance: PER_TYPE, duplicate_course: PER_TYPE } }),
      ),
    );
    fixtures = Object.fromEntries(names.map((name, i) => [name, made[i]]));
  }, 60_000);

  afterAll(async () => {
    for (const stack of stacks) {
      await Promise.all([stack.web.kill('SIGKILL'), stack.worker.kill('SIGKILL')]);
      await stack.redis.close();
    }
    await t?.close();
  });

  it('with an append-only file (README): the job survives a 6 s outage, the action runs on meanwhile and ends as a clean run', async () => {
    const stack = await startStack('aof');
    const pids = { web: stack.web.pid, worker: stack.worker.pid };

    // The clean reference: the same action on an identical certification, nothing interrupted.
    const cleanId = await assignAll(stack, fixtures.R.certificationId);
    await waitForState(t.db, cleanId, FINISHED, 30000, stack.output);
    await waitForJob(stack, cleanId, 'completed', 10000);
    reference = { certificationId: fixtures.R.certificationId, bulkActionId: cleanId };

    const hold = await holdMembershipOf(t.db, nthInChunkOrder(fixtures.AOF.exceptionIds, DONE_BEFORE + CHUNK / 2));
    let id = 0;
    let connections = 0;
    let killedAt = 0;
    try {
      id = await assignAll(stack, fixtures.AOF.certificationId);
      await waitUntilBlocked(t.db, stack.worker.appName, 30000, stack.output);
      expect(await bulkActionRow(t.db, id)).toMatchObject({ state: 'running', processed: DONE_BEFORE });
      connections = await stack.redis.connections();
      await stack.redis.kill('SIGKILL');
      killedAt = Date.now();

      // Redis is down: the progress page still answers, from PostgreSQL.
      const during = await progressPage(stack, id);
      expect(during.status).toMatchObject({ state: 'running', processed: DONE_BEFORE });
      expect(during.text).toContain(`Running: ${DONE_BEFORE} of ${TOTAL.toLocaleString('en-GB')} learners processed.`);
    } finally {
      await hold.release();
    }
    // The chunk goes on, and so do the others: applying needs PostgreSQL only.
    await waitForState(t.db, id, FINISHED, 20000, stack.output);
    expect(await bulkActionRow(t.db, id)).toMatchObject({ state: 'completed', processed: TOTAL });
    expect((await progressPage(stack, id)).text).toContain(
      `Completed: ${TOTAL.toLocaleString('en-GB')} of ${TOTAL.toLocaleString('en-GB')} learners processed.`,
    );

    await sleep(killedAt + OUTAGE_MS - Date.now());
    await stack.redis.restart();
    const restartedAt = Date.now();
    while ((await stack.redis.connections()) < connections) {
      if (Date.now() - restartedAt > RECONNECT_WITHIN_MS) {
        throw new Error(
          `${await stack.redis.connections()} of ${connections} connections back ${RECONNECT_WITHIN_MS} ms after Redis restarted\n${stack.output()}`,
        );
      }
      await sleep(50);
    }

    // Bull's own record of the job ends completed too, so nothing runs it again.
    await waitForJob(stack, id, 'completed', 30000);
    await expectAsCleanRun(fixtures.AOF.certificationId, id);
    expectStillRunning(stack, pids);
  }, 90_000);

  it('without persistence: Redis comes back empty, and the running and the queued actions still complete as a clean run', async () => {
    const stack = await startStack('none');
    const pids = { web: stack.web.pid, worker: stack.worker.pid };
    const { A, C, D } = fixtures;

    // A and C run, each held inside its fifth chunk: the worker's two job slots are taken, so D's job
    // waits in Redis, not yet started.
    const holds = [
      await holdMembershipOf(t.db, nthInChunkOrder(A.exceptionIds, DONE_BEFORE + CHUNK / 2)),
      await holdMembershipOf(t.db, nthInChunkOrder(C.exceptionIds, DONE_BEFORE + CHUNK / 2)),
    ];
    const ids: Record<'A' | 'C' | 'D', number> = { A: 0, C: 0, D: 0 };
    try {
      ids.A = await assignAll(stack, A.certificationId);
      await waitUntilBlocked(t.db, stack.worker.appName, 30000, stack.output);
      ids.C = await assignAll(stack, C.certificationId);
      await waitUntilBlocked(t.db, stack.worker.appName, 30000, stack.output, 2);
      ids.D = await assignAll(stack, D.certificationId);
      expect(await jobState(stack, ids.D)).toBe('waiting');
      expect([
        (await bulkActionRow(t.db, ids.A)).processed,
        (await bulkActionRow(t.db, ids.C)).processed,
        (await bulkActionRow(t.db, ids.D)).state,
      ]).toEqual([DONE_BEFORE, DONE_BEFORE, 'queued']);

      const marker = new Redis(stack.redis.url);
      await marker.set('chaos:written-before-the-kill', '1');
      await marker.quit();
      await stack.redis.kill('SIGKILL');
      const during = await progressPage(stack, ids.A);
      expect(during.status).toMatchObject({ state: 'running', processed: DONE_BEFORE });
      await stack.redis.restart();
      const restarted = new Redis(stack.redis.url);
      expect(await restarted.exists('chaos:written-before-the-kill')).toBe(0);
      await restarted.quit();
    } finally {
      await Promise.all(holds.map((hold) => hold.release()));
    }

    // A and C carry on in the worker. D's job went with Redis's data: the worker queues it again
    // (and the minute sweep's schedule) as soon as it has reconnected.
    for (const name of ['A', 'C', 'D'] as const) {
      await waitForState(t.db, ids[name], FINISHED, 40000, stack.output);
      // The jobs queued again when Redis came back end completed too (a no-op for A and C).
      await waitForJob(stack, ids[name], 'completed', 30000);
      await expectAsCleanRun(fixtures[name].certificationId, ids[name]);
    }
    const after = await progressPage(stack, ids.D);
    expect(after.text).toContain(`Completed: ${TOTAL.toLocaleString('en-GB')} of ${TOTAL.toLocaleString('en-GB')} learners processed.`);
    // The minute sweep's schedule, lost with the data, is back.
    expect(await inQueue(stack, async (queue) => (await queue.getRepeatableJobs()).map((job) => job.id))).toContain(BULK_REQUEUE_JOB);
    expectStillRunning(stack, pids);
  }, 90_000);
});
