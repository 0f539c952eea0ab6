import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { MAIL_DRAIN_JOB, MAIL_QUEUE, MAIL_TICK_SCHEDULE } from '../jobs/queues';
import { scheduleRepeatable, startSchedule } from '../jobs/schedule';
import { MailRelayService } from './mail-relay.service';
import { OutboxService } from './outbox.service';

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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MAIL_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, MAIL_TICK_SCHEDULE, {
      nodeEnv: this.config.nodeEnv,
      logger: this.logger,
      schedule: () => this.schedule(),
    });
  }

  /** The relay's tick; and whatever is waiting in the outbox goes out now, not at the next tick. */
  async schedule() {
    await scheduleRepeatable(this.queue, MAIL_TICK_SCHEDULE);
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
