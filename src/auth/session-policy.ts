export const IDLE_TIMEOUT_MS = 30 * 60 * 1000;
export const ABSOLUTE_TIMEOUT_MS = 8 * 60 * 60 * 1000;
/** A session in use is saved again (its idle timeout starts again) at most this often. */
export const SESSION_REFRESH_MS = 60 * 1000;

/**
 * Password checks allowed in the window for one username from one address. Counted per pair, so
 * that guesses from one address never keep the person out from their own.
 */
export const MAX_FAILURES_PER_USERNAME = 5;
/** Password checks allowed in the window from one address, whatever the usernames: against spraying. */
export const MAX_FAILURES_PER_ADDRESS = 20;
export const FAILURE_WINDOW_MINUTES = 15;
/** Wait before the check after earlier failures of the same pair: doubles from the first, capped. */
export const FAILURE_DELAY_BASE_MS = 250;
export const FAILURE_DELAY_CAP_MS = 1000;
