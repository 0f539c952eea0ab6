import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { LearnerMessagesService, SweepResult } from './learner-messages.service';
import { restoreWhenRedisReconnects } from '../jobs/redis-reconnect';

export const LEARNER_MESSAGES_QUEUE = 'learner-messages';
export const SWEEP_JOB = 'sweep';
export const SWEEP_SCHEDULE_ID = 'learner-messages-sweep';
export const SWEEP_EVERY_MS = 5 * 60 * 1000;

/** Every five minutes, the learner messages that are due go into the outbox. */
@Processor(LEARNER_MESSAGES_QUEUE)
export class LearnerMessagesProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(LearnerMessagesProcessor.name);

  constructor(
    private readonly messages: LearnerMessagesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(LEARNER_MESSAGES_QUEUE) private readonly queue: Queue,
  ) {}

  /**
   * The schedule lives in Redis as a repeatable job, so any number of workers share one. Tests
   * (NODE_ENV=test) call sweep() themselves: a timed run would change the rows a test arranged.
   */
  async onApplicationBootstrap() {
    if (this.config.nodeEnv === 'test') return;
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  async schedule() {
    await this.queue.add(
      SWEEP_JOB,
      {},
      { repeat: { every: SWEEP_EVERY_MS }, jobId: SWEEP_SCHEDULE_ID, removeOnComplete: 100, removeOnFail: 100 },
    );
  }

  /** A sweep delivered twice writes nothing the second time: every message has its key. */
  @Process(SWEEP_JOB)
  async sweep(): Promise<SweepResult> {
    const result = await this.messages.sweep(new Date());
    this.logger.log({ message: 'learner message sweep', ...result });
    return result;
  }
}
