import type { LoggerService } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';
import { restoreWhenRedisReconnects } from './redis-reconnect';

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

export interface StartScheduleOptions {
  nodeEnv: string;
  logger: LoggerService;
  /** Put the schedule in Redis (and whatever else the processor owns there); must be safe to repeat. */
  schedule: () => Promise<unknown>;
  /** Extra work after Redis came back, beyond putting the schedule back. */
  afterReconnect?: () => Promise<unknown>;
}

/**
 * What every processor does at start: put its schedule in Redis, and put it back whenever Redis
 * comes back (a Redis restarted without its data has forgotten every schedule).
 */
export async function startSchedule(queue: Queue, schedule: RepeatableSchedule, options: StartScheduleOptions): Promise<void> {
  if (schedule.changesData && options.nodeEnv === 'test') return;
  await options.schedule();
  const { afterReconnect } = options;
  const restore = afterReconnect ? () => options.schedule().then(afterReconnect) : options.schedule;
  restoreWhenRedisReconnects(queue, restore, options.logger);
}
