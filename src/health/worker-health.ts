import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bull';
import { createServer, Server } from 'node:http';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { MAINTENANCE_QUEUE } from '../jobs/queues';
import { WorkedQueue, WorkerRegistry } from '../jobs/worker-registry';
import { serviceStates, within } from './service-checks';

type ScheduleReport = { every: string; next: string | null } | 'missing' | 'not started under NODE_ENV=test' | 'unknown';

export interface WorkerHealthReport {
  status: 'ok' | 'unavailable';
  role: 'worker';
  postgres: 'up' | 'down';
  redis: 'up' | 'down';
  /** Per queue: whether this process takes its jobs. */
  queues: Record<string, 'processing' | 'paused' | 'stopped'>;
  /** Per schedule: its period and next run as Redis holds them, or missing. */
  schedules: Record<string, ScheduleReport>;
}

/** The parts of a Bull queue that say whether this process takes its jobs, which Bull's types leave out. */
interface QueueInternals {
  handlers?: Record<string, unknown>;
  closing?: Promise<void>;
}

function everyText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/**
 * A worker listens on no web port; it answers GET /health (and BASE_PATH/health) on
 * WORKER_HEALTH_PORT instead: PostgreSQL and Redis, whether each of its queues is being processed
 * by this process, and whether each schedule is in Redis with its next run. 200 when all is well,
 * 503 otherwise, for a supervisor's checks.
 */
@Injectable()
export class WorkerHealth implements OnApplicationShutdown {
  private server: Server | null = null;

  constructor(
    private readonly em: EntityManager,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
    private readonly registry: WorkerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async report(): Promise<WorkerHealthReport> {
    const { postgres, redis } = await serviceStates(this.em.fork(), this.queue);
    const queues: WorkerHealthReport['queues'] = {};
    const schedules: WorkerHealthReport['schedules'] = {};
    await Promise.all(
      this.registry.queues.map(async (worked) => {
        queues[worked.queue.name] = await this.queueState(worked.queue);
        schedules[worked.schedule.id] = redis === 'up' ? await this.scheduleState(worked) : 'unknown';
      }),
    );
    const ok =
      postgres === 'up' &&
      redis === 'up' &&
      Object.values(queues).every((state) => state === 'processing') &&
      Object.values(schedules).every((state) => state !== 'missing' && state !== 'unknown');
    return { status: ok ? 'ok' : 'unavailable', role: 'worker', postgres, redis, queues, schedules };
  }

  private async queueState(queue: Queue): Promise<'processing' | 'paused' | 'stopped'> {
    const internals = queue as unknown as QueueInternals;
    if (internals.closing || Object.keys(internals.handlers ?? {}).length === 0) return 'stopped';
    return (await within(queue.isPaused(true)).catch(() => false)) ? 'paused' : 'processing';
  }

  private async scheduleState({ queue, schedule, scheduled }: WorkedQueue): Promise<ScheduleReport> {
    if (!scheduled) return 'not started under NODE_ENV=test';
    const repeatables = await within(queue.getRepeatableJobs()).catch(() => null);
    if (!repeatables) return 'unknown';
    const found = repeatables.find((job) => job.id === schedule.id && job.name === schedule.job);
    if (!found) return 'missing';
    return { every: everyText(schedule.everyMs), next: found.next ? new Date(found.next).toISOString() : null };
  }

  /** Starts answering on `port` (0: any free port); resolves with the port. */
  async listen(port: number): Promise<number> {
    const paths = new Set(['/health', `${this.config.basePath}/health`]);
    const server = createServer((req, res) => {
      res.setHeader('Cache-Control', 'no-store');
      if (req.method !== 'GET' || !paths.has((req.url ?? '').split('?')[0])) {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Only GET /health is answered here' }));
        return;
      }
      this.report().then(
        (report) => res.writeHead(report.status === 'ok' ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(report)),
        () => res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'unavailable', role: 'worker' })),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, () => resolve()));
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  }
}
