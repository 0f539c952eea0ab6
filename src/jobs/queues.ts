/** Queue names, shared by the producers (web) and the processors (worker). */
export const MEMBERSHIP_SYNC_QUEUE = 'membership-sync';
export const LIFECYCLE_QUEUE = 'lifecycle';
