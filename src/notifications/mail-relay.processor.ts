import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import { MAIL_DRAIN_JOB, MAIL_QUEUE, MAIL_TICK_EVERY_MS, MAIL_TICK_JOB_ID } from './mail-relay.constants';
import { MailRelayService } from './mail-relay.service';
import { OutboxService } from './outbox.service';
import { restoreWhenRedisReconnects } from '../jobs/redis-reconnect';

/**
 * Runs the relay (worker only): on a schedule every few seconds, shared by all workers through
 * Redis, and whenever the outbox wakes it after a commit.
 */
@Processor(MAIL_QUEUE)
export class MailRelayProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MailRelayProcessor.name);

  constructor(
    private readonly relay: MailRelayService,
    private readonly outbox: OutboxService,
    @InjectQueue(MAIL_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  /** The relay's tick; and whatever is waiting in the outbox goes out now, not at the next tick. */
  private async schedule() {
    await this.queue.add(
      MAIL_DRAIN_JOB,
      {},
      { repeat: { every: MAIL_TICK_EVERY_MS }, jobId: MAIL_TICK_JOB_ID, attempts: 1, removeOnComplete: true, removeOnFail: 50 },
    );
    await this.outbox.wake();
  }

  @Process(MAIL_DRAIN_JOB)
  async drain() {
    try {
      return await this.relay.drain();
    } catch (error) {
      this.logger.error(`mail relay: ${(error as Error).message}`);
      throw error;
    }
  }
}
