import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LEARNER_MESSAGES_QUEUE, SWEEP_JOB, SWEEP_SCHEDULE } from '../jobs/queues';
import { scheduleRepeatable, startSchedule } from '../jobs/schedule';
import { LearnerMessagesService, SweepResult } from './learner-messages.service';

/** Every five minutes, the learner messages that are due go into the outbox. */
@Processor(LEARNER_MESSAGES_QUEUE)
export class LearnerMessagesProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(LearnerMessagesProcessor.name);

  constructor(
    private readonly messages: LearnerMessagesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(LEARNER_MESSAGES_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, SWEEP_SCHEDULE, { nodeEnv: this.config.nodeEnv, logger: this.logger, schedule: () => this.schedule() });
  }

  async schedule() {
    await scheduleRepeatable(this.queue, SWEEP_SCHEDULE);
  }

  /** A sweep delivered twice writes nothing the second time: every message has its key. */
  @Process(SWEEP_JOB)
  async sweep(): Promise<SweepResult> {
    const result = await this.messages.sweep(new Date());
    this.logger.log({ message: 'learner message sweep', ...result });
    return result;
  }
}
