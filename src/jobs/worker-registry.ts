import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import type { RepeatableSchedule } from './schedule';

/** A queue this process works on, with its schedule, as its processor registered it at start. */
export interface WorkedQueue {
  queue: Queue;
  schedule: RepeatableSchedule;
  /** False where the schedule is deliberately not started (a data-changing schedule under NODE_ENV=test). */
  scheduled: boolean;
}

/** The queues and schedules this process's processors run: what a worker's /health reports on. */
@Injectable()
export class WorkerRegistry {
  readonly queues: WorkedQueue[] = [];

  add(worked: WorkedQueue): void {
    this.queues.push(worked);
  }
}
