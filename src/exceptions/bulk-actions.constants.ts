export const BULK_ACTIONS_QUEUE = 'bulk-actions';
export const BULK_APPLY_JOB = 'apply';
export const BULK_REQUEUE_JOB = 'requeue-unfinished';
