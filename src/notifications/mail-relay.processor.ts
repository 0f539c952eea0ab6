import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import { MAIL_DRAIN_JOB, MAIL_QUEUE, MAIL_TICK_SCHEDULE } from '../jobs/queues';
import { ScheduledProcessor } from '../jobs/schedule';
import { MailRelayService } from './mail-relay.service';
import { OutboxService } from './outbox.service';

/**
 * Runs the relay (worker only): on a schedule every few seconds, shared by all workers through
 * Redis, and whenever the outbox wakes it after a commit.
 */
@Processor(MAIL_QUEUE)
export class MailRelayProcessor extends ScheduledProcessor {
  constructor(
    private readonly relay: MailRelayService,
    private readonly outbox: OutboxService,
    @InjectQueue(MAIL_QUEUE) queue: Queue,
  ) {
    super(queue, MAIL_TICK_SCHEDULE);
  }

  /** The relay's tick; and whatever is waiting in the outbox goes out now, not at the next tick. */
  async schedule() {
    await super.schedule();
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
