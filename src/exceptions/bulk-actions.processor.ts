import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, OnQueueFailed, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, BULK_REQUEUE_JOB } from './bulk-actions.constants';
import { BulkActionsService } from './bulk-actions.service';

@Processor(BULK_ACTIONS_QUEUE)
export class BulkActionsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(BulkActionsProcessor.name);

  constructor(
    private readonly bulk: BulkActionsService,
    @InjectQueue(BULK_ACTIONS_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await this.queue.add(BULK_REQUEUE_JOB, {}, { repeat: { every: 60_000 }, jobId: BULK_REQUEUE_JOB, removeOnComplete: 10, removeOnFail: 10 });
  }

  @Process(BULK_APPLY_JOB)
  async apply(job: Job<{ bulkActionId: number }>) {
    const status = await this.bulk.run(job.data.bulkActionId, (processed, total) => job.progress(total ? Math.floor((processed / total) * 100) : 100));
    this.logger.log({ message: 'bulk action finished', bulkActionId: job.data.bulkActionId, state: status?.state, processed: status?.processed });
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
