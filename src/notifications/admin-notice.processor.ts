import { InjectQueue, Process, Processor } from '@nestjs/bull';
import type { Queue } from 'bull';
import { ADMIN_NOTICES_QUEUE, SEND_DUE_NOTICES_JOB, SEND_DUE_NOTICES_SCHEDULE } from '../jobs/queues';
import { ScheduledProcessor } from '../jobs/schedule';
import { AdminNoticeService, DueNoticesResult } from './admin-notice.service';

/** Every minute, the administrators' notices that waited for the interval to pass go into the outbox. */
@Processor(ADMIN_NOTICES_QUEUE)
export class AdminNoticeProcessor extends ScheduledProcessor {
  constructor(
    private readonly notices: AdminNoticeService,
    @InjectQueue(ADMIN_NOTICES_QUEUE) queue: Queue,
  ) {
    super(queue, SEND_DUE_NOTICES_SCHEDULE);
  }

  /** Delivered twice, the second run finds nothing pending: each notice is written once. */
  @Process(SEND_DUE_NOTICES_JOB)
  async sendDue(): Promise<DueNoticesResult> {
    const result = await this.notices.sendDueNotices();
    if (result.due > 0) this.logger.log({ message: 'pending administrators’ notices', ...result });
    return result;
  }
}
