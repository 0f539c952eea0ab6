import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { CompletionCheckJobData } from '../jobs/job-requests.service';
import { LIFECYCLE_QUEUE } from '../jobs/queues';
import { CompletionCheckResult, LifecycleService, StepsResult } from './lifecycle.service';
import { restoreWhenRedisReconnects } from '../jobs/redis-reconnect';

export const COMPLETIONS_JOB = 'completions';
export const STEPS_JOB = 'steps';
export const STEPS_SCHEDULE_ID = 'lifecycle-steps-schedule';
export const STEPS_EVERY_MS = 10 * 60 * 1000;

/** Completion checks on request, and every ten minutes the lifecycle steps plus a full check. */
@Processor(LIFECYCLE_QUEUE)
export class LifecycleProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(LifecycleProcessor.name);

  constructor(
    private readonly lifecycle: LifecycleService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(LIFECYCLE_QUEUE) private readonly queue: Queue,
  ) {}

  /**
   * The schedule lives in Redis as a repeatable job, so any number of workers share one. Tests
   * (NODE_ENV=test) call schedule() themselves: a timed run in the middle of another test file
   * would change the rows that file arranged.
   */
  async onApplicationBootstrap() {
    if (this.config.nodeEnv === 'test') return;
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  async schedule() {
    await this.queue.add(
      STEPS_JOB,
      {},
      { repeat: { every: STEPS_EVERY_MS }, jobId: STEPS_SCHEDULE_ID, removeOnComplete: 100, removeOnFail: 100 },
    );
  }

  @Process(COMPLETIONS_JOB)
  async completions(job: Job<CompletionCheckJobData>): Promise<Omit<CompletionCheckResult, 'membershipIds'>> {
    const result = await this.lifecycle.completionCheck(job.data.learnerIds ?? null);
    this.logger.log({ message: 'completion check', reason: job.data.reason, certified: result.certified });
    return { certified: result.certified };
  }

  @Process(STEPS_JOB)
  async steps(): Promise<StepsResult & { certified: number }> {
    const steps = await this.lifecycle.runSteps(new Date());
    const { certified } = await this.lifecycle.completionCheck(null);
    this.logger.log({ message: 'lifecycle steps', ...steps, certified });
    return { ...steps, certified };
  }
}
