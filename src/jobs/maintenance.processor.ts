import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { MaintenanceService } from './maintenance.service';
import { MAINTENANCE_QUEUE, PURGE_JOB, PURGE_SCHEDULE } from './queues';
import { scheduleRepeatable, startSchedule } from './schedule';

@Processor(MAINTENANCE_QUEUE)
export class MaintenanceProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MaintenanceProcessor.name);

  constructor(
    private readonly maintenance: MaintenanceService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, PURGE_SCHEDULE, { nodeEnv: this.config.nodeEnv, logger: this.logger, schedule: () => this.schedule() });
  }

  async schedule() {
    await scheduleRepeatable(this.queue, PURGE_SCHEDULE);
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
