import { Injectable } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { COMPLETIONS_JOB, LIFECYCLE_QUEUE, MEMBERSHIP_SYNC_QUEUE, SYNC_JOB } from './queues';

export interface SyncJobData {
  /** One certification, or null for every certification. */
  certificationId: number | null;
  reason: string;
}

export interface CompletionCheckJobData {
  /** Learners whose course completions changed; null checks every membership. */
  learnerIds: number[] | null;
  reason: string;
}

/**
 * How the web side asks the worker for background work. Never done in the request: a change to
 * assignments, audiences or learners queues a sync; new course completions queue a check.
 */
@Injectable()
export class JobRequests {
  constructor(
    @InjectQueue(MEMBERSHIP_SYNC_QUEUE) private readonly syncQueue: Queue<SyncJobData>,
    @InjectQueue(LIFECYCLE_QUEUE) private readonly lifecycleQueue: Queue<CompletionCheckJobData>,
  ) {}

  async requestSync(certificationId: number | null, reason: string): Promise<void> {
    await this.syncQueue.add(SYNC_JOB, { certificationId, reason });
  }

  async requestCompletionCheck(learnerIds: number[] | null, reason: string): Promise<void> {
    await this.lifecycleQueue.add(COMPLETIONS_JOB, { learnerIds, reason });
  }
}
