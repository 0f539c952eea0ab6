import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import { MaintenanceService } from './maintenance.service';
import { MAINTENANCE_QUEUE, PURGE_JOB, PURGE_SCHEDULE } from './queues';
import { ScheduledProcessor } from './schedule';

@Processor(MAINTENANCE_QUEUE)
export class MaintenanceProcessor extends ScheduledProcessor {
  constructor(
    private readonly maintenance: MaintenanceService,
    @InjectQueue(MAINTENANCE_QUEUE) queue: Queue,
  ) {
    super(queue, PURGE_SCHEDULE);
  }

  @Process(PURGE_JOB)
  async purge(job: Job) {
    // The run key is the scheduled time slot: a retried delivery of the same slot is a no-op.
    const slot = job.opts.repeat ? Math.floor(job.timestamp / PURGE_SCHEDULE.everyMs) : job.id;
    const result = await this.maintenance.purgeExpired(`${PURGE_JOB}:${slot}`);
    this.logger.log({ message: 'maintenance purge', ...result });
    return result;
  }
}
