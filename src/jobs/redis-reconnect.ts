import type { LoggerService } from '@nestjs/common';
import type { Queue } from 'bull';

/**
 * Runs `restore` each time the queue's Redis connection is ready again after it was lost. A Redis
 * that restarted without its data (no append-only file, or a lost disk) has forgotten every
 * schedule (repeatable job) and every job: a worker puts back what it owns as soon as Redis is
 * back, instead of only when the worker itself restarts. `restore` must be safe to repeat, since
 * Redis may well have kept everything.
 */
export function restoreWhenRedisReconnects(queue: Queue, restore: () => Promise<unknown>, logger: LoggerService): void {
  let lost = false;
  queue.client.on('reconnecting', () => (lost = true));
  queue.client.on('ready', () => {
    if (!lost) return;
    lost = false;
    restore().catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(`could not restore the ${queue.name} queue after Redis came back: ${reason}`);
    });
  });
}

/**
 * How long Bull's Redis connections wait before the next attempt while Redis is away: a little
 * longer each time, never more than 2 s. Bull's own default grows exponentially to 20 s, so that a
 * process stayed deaf (jobs not taken, pages waiting to queue one) for up to 20 s after Redis came back.
 */
export function redisRetryDelay(attempt: number): number {
  return Math.min(attempt * 100, 2000);
}
