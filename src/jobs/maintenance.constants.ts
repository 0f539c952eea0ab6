export const MAINTENANCE_QUEUE = 'maintenance';
export const PURGE_JOB = 'purge-expired';
export const PURGE_EVERY_MS = 60 * 60 * 1000;
