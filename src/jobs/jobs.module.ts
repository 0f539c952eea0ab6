import { Module } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { JobRequests } from './job-requests.service';
import { LIFECYCLE_QUEUE, MEMBERSHIP_SYNC_QUEUE } from './queues';

/** The queues any feature may add work to, and their processors' queues (exported with BullModule). */
@Module({
  imports: [BullModule.registerQueue({ name: MEMBERSHIP_SYNC_QUEUE }, { name: LIFECYCLE_QUEUE })],
  providers: [JobRequests],
  exports: [JobRequests, BullModule],
})
export class JobsModule {}
