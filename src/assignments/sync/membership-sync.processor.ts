import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Job, Queue } from 'bull';
import type { SyncJobData } from '../../jobs/job-requests.service';
import { MEMBERSHIP_SYNC_QUEUE, SYNC_JOB, SYNC_SCHEDULE } from '../../jobs/queues';
import { ScheduledProcessor } from '../../jobs/schedule';
import { MembershipSyncService, SyncStats } from './membership-sync.service';

/** Runs requested syncs (one certification, or all of them) and the hourly full sync. */
@Processor(MEMBERSHIP_SYNC_QUEUE)
export class MembershipSyncProcessor extends ScheduledProcessor {
  constructor(
    private readonly sync: MembershipSyncService,
    @InjectQueue(MEMBERSHIP_SYNC_QUEUE) queue: Queue<SyncJobData>,
  ) {
    super(queue, SYNC_SCHEDULE);
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
