import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { restoreWhenRedisReconnects } from './redis-reconnect';
import { WorkerRegistry } from './worker-registry';

/** A job that runs every `everyMs`, kept in Redis as a repeatable job so that any number of workers share one. */
export interface RepeatableSchedule {
  job: string;
  /** The fixed id that makes adding the schedule again (another worker, a restart) change nothing. */
  id: string;
  everyMs: number;
  data?: object;
  /**
   * Whether a timed run changes business data (memberships, messages). Such a schedule is not
   * started under NODE_ENV=test, where a timed run in the middle of a test would change the rows
   * the test arranged: tests run those jobs, and call `schedule()`, themselves. Schedules that only
   * keep the machinery going (the mail tick, the purge, the bulk-action requeue) run everywhere.
   */
  changesData: boolean;
  options: Pick<JobOptions, 'attempts' | 'removeOnComplete' | 'removeOnFail'>;
}

/** Adds the schedule to Redis; safe to repeat. */
export async function scheduleRepeatable(queue: Queue, schedule: RepeatableSchedule): Promise<void> {
  await queue.add(schedule.job, schedule.data ?? {}, { ...schedule.options, repeat: { every: schedule.everyMs }, jobId: schedule.id });
}

/**
 * A processor with one repeatable schedule. At start it puts the schedule in Redis, and puts it
 * back whenever Redis comes back (a Redis restarted without its data has forgotten every
 * schedule). A processor extends it, hands its queue and schedule to `super`, and declares only
 * its jobs.
 */
export abstract class ScheduledProcessor implements OnApplicationBootstrap {
  protected readonly logger = new Logger(this.constructor.name);
  @Inject(APP_CONFIG) private readonly config: AppConfig;
  @Inject(WorkerRegistry) private readonly registry: WorkerRegistry;

  protected constructor(
    private readonly queue: Queue,
    private readonly repeatable: RepeatableSchedule,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const scheduled = !(this.repeatable.changesData && this.config.nodeEnv === 'test');
    this.registry.add({ queue: this.queue, schedule: this.repeatable, scheduled });
    if (!scheduled) return;
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.restore(), this.logger);
  }

  /** Puts the schedule in Redis (and whatever else the processor owns there); safe to repeat. */
  async schedule(): Promise<void> {
    await scheduleRepeatable(this.queue, this.repeatable);
  }

  /** What Redis gets back after it came back: the schedule, and whatever a processor adds. */
  protected async restore(): Promise<void> {
    await this.schedule();
  }
}
