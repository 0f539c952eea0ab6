/** Membership sync and exception detection: services (web and worker) and queue processors (worker only). */
export const SYNC_PROVIDERS: any[] = [];
export const SYNC_WORKER_PROVIDERS: any[] = [];
