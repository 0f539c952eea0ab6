import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ADMIN_NOTICES_QUEUE, SEND_DUE_NOTICES_JOB, SEND_DUE_NOTICES_SCHEDULE } from '../jobs/queues';
import { scheduleRepeatable, startSchedule } from '../jobs/schedule';
import { AdminNoticeService, DueNoticesResult } from './admin-notice.service';

/** Every minute, the administrators' notices that waited for the interval to pass go into the outbox. */
@Processor(ADMIN_NOTICES_QUEUE)
export class AdminNoticeProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminNoticeProcessor.name);

  constructor(
    private readonly notices: AdminNoticeService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(ADMIN_NOTICES_QUEUE) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, SEND_DUE_NOTICES_SCHEDULE, {
      nodeEnv: this.config.nodeEnv,
      logger: this.logger,
      schedule: () => this.schedule(),
    });
  }

  async schedule() {
    await scheduleRepeatable(this.queue, SEND_DUE_NOTICES_SCHEDULE);
  }

  /** Delivered twice, the second run finds nothing pending: each notice is written once. */
  @Process(SEND_DUE_NOTICES_JOB)
  async sendDue(): Promise<DueNoticesResult> {
    const result = await this.notices.sendDueNotices();
    if (result.due > 0) this.logger.log({ message: 'pending administrators’ notices', ...result });
    return result;
  }
}
