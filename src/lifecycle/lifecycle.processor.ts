import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { CompletionCheckJobData } from '../jobs/job-requests.service';
import { COMPLETIONS_JOB, LIFECYCLE_QUEUE, STEPS_JOB, STEPS_SCHEDULE } from '../jobs/queues';
import { ScheduledProcessor } from '../jobs/schedule';
import { CompletionCheckResult, LifecycleService, StepsResult } from './lifecycle.service';
import { EndDueResult, ExemptionsService } from '../exemptions/exemptions.service';

/** Completion checks on request, and every ten minutes the exemptions that end, the lifecycle steps and a full check. */
@Processor(LIFECYCLE_QUEUE)
export class LifecycleProcessor extends ScheduledProcessor {
  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly exemptions: ExemptionsService,
    @InjectQueue(LIFECYCLE_QUEUE) queue: Queue,
  ) {
    super(queue, STEPS_SCHEDULE);
  }

  @Process(COMPLETIONS_JOB)
  async completions(job: Job<CompletionCheckJobData>): Promise<Omit<CompletionCheckResult, 'membershipIds'>> {
    const result = await this.lifecycle.completionCheck(job.data.learnerIds ?? null);
    this.logger.log({ message: 'completion check', reason: job.data.reason, certified: result.certified });
    return { certified: result.certified };
  }

  @Process(STEPS_JOB)
  async steps(): Promise<StepsResult & { certified: number; exemptionsEnded: EndDueResult }> {
    // Exemptions whose end date has passed end first, so that their learners take the steps from now on.
    const exemptionsEnded = await this.exemptions.endDue(new Date());
    const steps = await this.lifecycle.runSteps(new Date());
    const { certified } = await this.lifecycle.completionCheck(null);
    this.logger.log({ message: 'lifecycle steps', ...steps, certified, exemptionsEnded });
    return { ...steps, certified, exemptionsEnded };
  }
}
