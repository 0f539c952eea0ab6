import { Inject, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { SyncJobData } from '../../jobs/job-requests.service';
import { MEMBERSHIP_SYNC_QUEUE, SYNC_JOB, SYNC_SCHEDULE } from '../../jobs/queues';
import { scheduleRepeatable, startSchedule } from '../../jobs/schedule';
import { MembershipSyncService, SyncStats } from './membership-sync.service';

/** Runs requested syncs (one certification, or all of them) and the hourly full sync. */
@Processor(MEMBERSHIP_SYNC_QUEUE)
export class MembershipSyncProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(MembershipSyncProcessor.name);

  constructor(
    private readonly sync: MembershipSyncService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MEMBERSHIP_SYNC_QUEUE) private readonly queue: Queue<SyncJobData>,
  ) {}

  async onApplicationBootstrap() {
    await startSchedule(this.queue, SYNC_SCHEDULE, { nodeEnv: this.config.nodeEnv, logger: this.logger, schedule: () => this.schedule() });
  }

  async schedule() {
    await scheduleRepeatable(this.queue, SYNC_SCHEDULE);
  }

  /** Every sync is idempotent, so a job delivered twice only repeats the same work. */
  @Process(SYNC_JOB)
  async run(job: Job<SyncJobData>): Promise<SyncStats[]> {
    const { certificationId, reason } = job.data;
    const results =
      certificationId === null || certificationId === undefined
        ? await this.sync.syncAll(reason)
        : [await this.sync.syncCertification(certificationId, reason)].filter((r) => r !== null);
    const stats = results.map((result) => result.stats);
    for (const s of stats) this.logger.log({ message: 'membership sync', reason, ...s });
    return stats;
  }
}
