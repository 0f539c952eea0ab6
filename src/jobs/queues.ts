/**
 * Every queue, job and schedule name in Certex, shared by the producers (web) and the processors
 * (worker). A name here is a contract with the jobs already in Redis: renaming one orphans them.
 */
import type { RepeatableSchedule } from './schedule';

export const MEMBERSHIP_SYNC_QUEUE = 'membership-sync';
export const LIFECYCLE_QUEUE = 'lifecycle';
export const MAINTENANCE_QUEUE = 'maintenance';
export const MAIL_QUEUE = 'mail';
export const BULK_ACTIONS_QUEUE = 'bulk-actions';
export const LEARNER_MESSAGES_QUEUE = 'learner-messages';
export const ADMIN_NOTICES_QUEUE = 'admin-notices';

/** membership-sync: one certification or all of them, on request and every hour. */
export const SYNC_JOB = 'sync';
export const SYNC_SCHEDULE: RepeatableSchedule = {
  job: SYNC_JOB,
  id: 'membership-sync-schedule',
  everyMs: 60 * 60 * 1000,
  data: { certificationId: null, reason: 'schedule' },
  changesData: true,
  options: { removeOnComplete: 100, removeOnFail: 100 },
};

/** lifecycle: completion checks on request, and every ten minutes the steps plus a full check. */
export const COMPLETIONS_JOB = 'completions';
export const STEPS_JOB = 'steps';
export const STEPS_SCHEDULE: RepeatableSchedule = {
  job: STEPS_JOB,
  id: 'lifecycle-steps-schedule',
  everyMs: 10 * 60 * 1000,
  changesData: true,
  options: { removeOnComplete: 100, removeOnFail: 100 },
};

/** maintenance: expired sessions and old sign-in attempts, every hour. */
export const PURGE_JOB = 'purge-expired';
export const PURGE_SCHEDULE: RepeatableSchedule = {
  job: PURGE_JOB,
  id: PURGE_JOB,
  everyMs: 60 * 60 * 1000,
  changesData: false,
  options: { removeOnComplete: 100, removeOnFail: 100 },
};

/** mail: the one job, "send whatever is ready"; both the tick and the wake-up after an enqueue use it. */
export const MAIL_DRAIN_JOB = 'drain';
/** A fixed job id debounces wake-ups: while one is waiting, further ones are not added. */
export const MAIL_WAKE_JOB_ID = 'mail-wake';
export const MAIL_TICK_SCHEDULE: RepeatableSchedule = {
  job: MAIL_DRAIN_JOB,
  id: 'mail-tick',
  everyMs: 3000,
  changesData: false,
  options: { attempts: 1, removeOnComplete: true, removeOnFail: 50 },
};

/** bulk-actions: one job per action, and every minute the unfinished ones queued again. */
export const BULK_APPLY_JOB = 'apply';
export const BULK_REQUEUE_JOB = 'requeue-unfinished';
export const BULK_REQUEUE_SCHEDULE: RepeatableSchedule = {
  job: BULK_REQUEUE_JOB,
  id: BULK_REQUEUE_JOB,
  everyMs: 60_000,
  changesData: false,
  options: { removeOnComplete: 10, removeOnFail: 10 },
};
/**
 * A bulk action's job id in Redis, from the action's random job key: never from its id, which
 * starts again at 1 when the database is recreated while Redis keeps the old jobs.
 */
export const bulkJobId = (jobKey: string) => `bulk-${jobKey}`;

/** learner-messages: every five minutes, the learner messages that are due go into the outbox. */
export const SWEEP_JOB = 'sweep';
export const SWEEP_SCHEDULE: RepeatableSchedule = {
  job: SWEEP_JOB,
  id: 'learner-messages-sweep',
  everyMs: 5 * 60 * 1000,
  changesData: true,
  options: { removeOnComplete: 100, removeOnFail: 100 },
};

/** admin-notices: every minute, the notices that waited for the interval to pass go into the outbox. */
export const SEND_DUE_NOTICES_JOB = 'send-due';
export const SEND_DUE_NOTICES_SCHEDULE: RepeatableSchedule = {
  job: SEND_DUE_NOTICES_JOB,
  id: 'admin-notices-send-due',
  everyMs: 60 * 1000,
  changesData: true,
  options: { removeOnComplete: 100, removeOnFail: 100 },
};
