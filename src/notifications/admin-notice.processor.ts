import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { restoreWhenRedisReconnects } from '../jobs/redis-reconnect';
import { AdminNoticeService, DueNoticesResult } from './admin-notice.service';

export const ADMIN_NOTICES_QUEUE = 'admin-notices';
export const SEND_DUE_NOTICES_JOB = 'send-due';
export const SEND_DUE_NOTICES_SCHEDULE_ID = 'admin-notices-send-due';
export const SEND_DUE_NOTICES_EVERY_MS = 60 * 1000;

/** Every minute, the administrators' notices that waited for the interval to pass go into the outbox. */
@Processor(ADMIN_NOTICES_QUEUE)
export class AdminNoticeProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(AdminNoticeProcessor.name);

  constructor(
    private readonly notices: AdminNoticeService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(ADMIN_NOTICES_QUEUE) private readonly queue: Queue,
  ) {}

  /**
   * The schedule lives in Redis as a repeatable job, so any number of workers share one. Tests
   * (NODE_ENV=test) run the job themselves: a timed run would send what a test arranged early.
   */
  async onApplicationBootstrap() {
    if (this.config.nodeEnv === 'test') return;
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  async schedule() {
    await this.queue.add(
      SEND_DUE_NOTICES_JOB,
      {},
      { repeat: { every: SEND_DUE_NOTICES_EVERY_MS }, jobId: SEND_DUE_NOTICES_SCHEDULE_ID, removeOnComplete: 100, removeOnFail: 100 },
    );
  }

  /** Delivered twice, the second run finds nothing pending: each notice is written once. */
  @Process(SEND_DUE_NOTICES_JOB)
  async sendDue(): Promise<DueNoticesResult> {
    const result = await this.notices.sendDueNotices();
    if (result.due > 0) this.logger.log({ message: 'pending administrators’ notices', ...result });
    return result;
  }
}
