import { InjectQueue, OnQueueFailed, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, BULK_REQUEUE_JOB, BULK_REQUEUE_SCHEDULE } from '../jobs/queues';
import { ScheduledProcessor } from '../jobs/schedule';
import { BulkActionsService } from './bulk-actions.service';

@Processor(BULK_ACTIONS_QUEUE)
export class BulkActionsProcessor extends ScheduledProcessor {
  constructor(
    private readonly bulk: BulkActionsService,
    @InjectQueue(BULK_ACTIONS_QUEUE) queue: Queue,
  ) {
    super(queue, BULK_REQUEUE_SCHEDULE);
  }

  /** Jobs lost with Redis's data are queued again at once, however new their bulk action. */
  protected async restore() {
    await super.restore();
    await this.bulk.requeueUnfinished(0);
  }

  @Process(BULK_APPLY_JOB)
  async apply(job: Job<{ bulkActionId: number }>) {
    // The job's progress in Redis only mirrors bulk_action.processed: never wait for it or fail on
    // it, so that a Redis outage (or a Redis restarted empty) neither holds up nor stops the action.
    const mirrorProgress = (processed: number, total: number) => {
      void job.progress(total ? Math.floor((processed / total) * 100) : 100).catch(() => undefined);
      return Promise.resolve();
    };
    const status = await this.bulk.run(job.data.bulkActionId, mirrorProgress);
    this.logger.log({
      message: 'bulk action finished',
      bulkActionId: job.data.bulkActionId,
      state: status?.state,
      processed: status?.processed,
    });
    return status ? { state: status.state, processed: status.processed } : null;
  }

  @Process(BULK_REQUEUE_JOB)
  async requeue() {
    return this.bulk.requeueUnfinished();
  }

  @OnQueueFailed()
  async failed(job: Job<{ bulkActionId?: number }>, error: Error) {
    if (job.name !== BULK_APPLY_JOB || !job.data.bulkActionId) return;
    const attempts = job.opts.attempts ?? 1;
    if (job.attemptsMade >= attempts) await this.bulk.markFailed(job.data.bulkActionId, error.message);
    else this.logger.warn(`bulk action ${job.data.bulkActionId} attempt ${job.attemptsMade} failed: ${error.message}`);
  }
}
