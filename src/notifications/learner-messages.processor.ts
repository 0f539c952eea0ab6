import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import { LEARNER_MESSAGES_QUEUE, SWEEP_JOB, SWEEP_SCHEDULE } from '../jobs/queues';
import { ScheduledProcessor } from '../jobs/schedule';
import { LearnerMessagesService, SweepResult } from './learner-messages.service';

/** Every five minutes, the learner messages that are due go into the outbox. */
@Processor(LEARNER_MESSAGES_QUEUE)
export class LearnerMessagesProcessor extends ScheduledProcessor {
  constructor(
    private readonly messages: LearnerMessagesService,
    @InjectQueue(LEARNER_MESSAGES_QUEUE) queue: Queue,
  ) {
    super(queue, SWEEP_SCHEDULE);
  }

  /** A sweep delivered twice writes nothing the second time: every message has its key. */
  @Process(SWEEP_JOB)
  async sweep(): Promise<SweepResult> {
    const result = await this.messages.sweep(new Date());
    this.logger.log({ message: 'learner message sweep', ...result });
    return result;
  }
}
