import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, OnQueueFailed, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, BULK_REQUEUE_JOB } from './bulk-actions.constants';
import { BulkActionsService } from './bulk-actions.service';
import { restoreWhenRedisReconnects } from '../jobs/redis-reconnect';

@Processor(BULK_ACTIONS_QUEUE)
export class BulkActionsProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(BulkActionsProcessor.name);

  constructor(
    private readonly bulk: BulkActionsService,
    @InjectQueue(BULK_ACTIONS_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await this.schedule();
    // Jobs lost with Redis's data are queued again at once, however new their bulk action.
    restoreWhenRedisReconnects(this.queue, () => this.schedule().then(() => this.bulk.requeueUnfinished(0)), this.logger);
  }

  private async schedule() {
    await this.queue.add(
      BULK_REQUEUE_JOB,
      {},
      { repeat: { every: 60_000 }, jobId: BULK_REQUEUE_JOB, removeOnComplete: 10, removeOnFail: 10 },
    );
  }

  @Process(BULK_APPLY_JOB)
  async apply(job: Job<{ bulkActionId: number }>) {
    // The job's progress in Redis only mirrors bulk_action.processed: never wait for it or fail on
    // it, so that a Redis outage (or a Redis restarted empty) neither holds up nor stops the action.
    const mirrorProgress = async (processed: number, total: number) => {
      void job.progress(total ? Math.floor((processed / total) * 100) : 100).catch(() => undefined);
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
