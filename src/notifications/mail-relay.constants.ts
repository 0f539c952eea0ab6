/** The relay's limits, shared by the outbox (web and worker) and the relay (worker). */
/** SMTP connections in the pool, and so messages sent at the same time. */
export const MAIL_POOL_SIZE = 5;
/** Rows claimed at a time. */
export const MAIL_BATCH_SIZE = 100;
/** A claimed row is the claimer's for this long; after that another relay may take it over. */
export const MAIL_LEASE_SECONDS = 20;
/**
 * The longest one send may take before the transport gives up (see the timeouts in the relay).
 * A send is only started while at least this much of the lease is left, so a live relay never
 * has its rows taken over while it is still sending them.
 */
export const MAIL_SEND_BUDGET_MS = 12_000;
export const MAIL_TRANSPORT_TIMEOUTS = { connectionTimeout: 4000, greetingTimeout: 4000, socketTimeout: 8000 };
/** After this many attempts a message is marked failed (an administrator can retry it). */
export const MAIL_MAX_ATTEMPTS = 8;
/** The wait after the first failed attempt; it doubles after each further one. */
export const MAIL_BACKOFF_BASE_SECONDS = 30;

export const MAIL_STATES = ['pending', 'sending', 'sent', 'failed', 'kept'] as const;
export type MailState = (typeof MAIL_STATES)[number];
