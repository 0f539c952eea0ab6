import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { SyncJobData } from '../../jobs/job-requests.service';
import { MEMBERSHIP_SYNC_QUEUE } from '../../jobs/queues';
import { MembershipSyncService, SyncStats } from './membership-sync.service';
import { restoreWhenRedisReconnects } from '../../jobs/redis-reconnect';

export const SYNC_JOB = 'sync';
export const SCHEDULED_SYNC_ID = 'membership-sync-schedule';
export const SYNC_EVERY_MS = 60 * 60 * 1000;

/** Runs requested syncs (one certification, or all of them) and the hourly full sync. */
@Processor(MEMBERSHIP_SYNC_QUEUE)
export class MembershipSyncProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MembershipSyncProcessor.name);

  constructor(
    private readonly sync: MembershipSyncService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MEMBERSHIP_SYNC_QUEUE) private readonly queue: Queue<SyncJobData>,
  ) {}

  /**
   * The schedule lives in Redis as a repeatable job, so any number of workers share one. Tests
   * (NODE_ENV=test) call schedule() themselves: a timed run in the middle of another test file
   * would change the rows that file arranged.
   */
  async onApplicationBootstrap() {
    if (this.config.nodeEnv === 'test') return;
    await this.schedule();
    restoreWhenRedisReconnects(this.queue, () => this.schedule(), this.logger);
  }

  async schedule() {
    await this.queue.add(
      SYNC_JOB,
      { certificationId: null, reason: 'schedule' },
      { repeat: { every: SYNC_EVERY_MS }, jobId: SCHEDULED_SYNC_ID, removeOnComplete: 100, removeOnFail: 100 },
    );
  }

  /** Every sync is idempotent, so a job delivered twice only repeats the same work. */
  @Process(SYNC_JOB)
  async run(job: Job<SyncJobData>): Promise<SyncStats[]> {
    const { certificationId, reason } = job.data;
    const results =
      certificationId === null || certificationId === undefined
        ? await this.sync.syncAll(reason)
        : [await this.sync.syncCertification(certificationId, reason)].filter((r) => r !== null);
    const stats = results.map((result) => result!.stats);
    for (const s of stats) this.logger.log({ message: 'membership sync', reason, ...s });
    return stats;
  }
}
