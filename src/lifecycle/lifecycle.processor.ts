import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import type { CompletionCheckJobData } from '../jobs/job-requests.service';
import { COMPLETIONS_JOB, LIFECYCLE_QUEUE, STEPS_JOB, STEPS_SCHEDULE } from '../jobs/queues';
import { scheduleRepeatable, startSchedule } from '../jobs/schedule';
import { CompletionCheckResult, LifecycleService, StepsResult } from './lifecycle.service';

/** Completion checks on request, and every ten minutes the lifecycle steps plus a full check. */
@Processor(LIFECYCLE_QUEUE)
export class LifecycleProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(LifecycleProcessor.name);

  constructor(
    private readonly lifecycle: LifecycleService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(LIFECYCLE_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, STEPS_SCHEDULE, { nodeEnv: this.config.nodeEnv, logger: this.logger, schedule: () => this.schedule() });
  }

  async schedule() {
    await scheduleRepeatable(this.queue, STEPS_SCHEDULE);
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
