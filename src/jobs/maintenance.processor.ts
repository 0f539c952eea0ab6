import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { MAINTENANCE_QUEUE, PURGE_EVERY_MS, PURGE_JOB } from './maintenance.constants';
import { MaintenanceService } from './maintenance.service';
import { restoreWhenRedisReconnects } from './redis-reconnect';

@Processor(MAINTENANCE_QUEUE)
export class MaintenanceProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly maintenance: MaintenanceService,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
  ) {}

  /** The schedule lives in Redis as a repeatable job, so any number of workers share one. */
  async onApplicationBootstrap() {
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  private async schedule() {
    await this.queue.add(PURGE_JOB, {}, { repeat: { every: PURGE_EVERY_MS }, jobId: PURGE_JOB, removeOnComplete: 100, removeOnFail: 100 });
  }

  @Process(PURGE_JOB)
  async purge(job: Job) {
    // The run key is the scheduled time slot: a retried delivery of the same slot is a no-op.
    const slot = job.opts.repeat ? Math.floor(job.timestamp / PURGE_EVERY_MS) : job.id;
    const result = await this.maintenance.purgeExpired(`${PURGE_JOB}:${slot}`);
    this.logger.log({ message: 'maintenance purge', ...result });
    return result;
  }
}
