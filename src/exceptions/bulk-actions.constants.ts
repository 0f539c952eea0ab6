export const BULK_ACTIONS_QUEUE = 'bulk-actions';
export const BULK_APPLY_JOB = 'apply';
export const BULK_REQUEUE_JOB = 'requeue-unfinished';

/**
 * A bulk action's job id in Redis, from the action's random job key: never from its id, which
 * starts again at 1 when the database is recreated while Redis keeps the old jobs.
 */
export const bulkJobId = (jobKey: string) => `bulk-${jobKey}`;
