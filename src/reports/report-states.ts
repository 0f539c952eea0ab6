/**
 * The states a report shows (DOMAIN.md §6 and §7), in the words the pages and CSVs use: a
 * membership's own four states first, then those an exception or a dismissal puts in their place.
 */
export const REPORT_STATE_LABELS = {
  not_certified: 'Not certified',
  certified: 'Certified',
  window_open: 'Window open',
  expired: 'Expired',
  exception_pending: 'Exception pending',
  not_assigned: 'Not assigned',
  completion_not_recorded: 'Completion not recorded',
  exempt: 'Exempt',
} as const;

export type ReportState = keyof typeof REPORT_STATE_LABELS;

export const REPORT_STATES = Object.keys(REPORT_STATE_LABELS) as ReportState[];

/** A membership's exception status: the Exception status column reads exactly these words (DOMAIN.md §7). */
export const EXCEPTION_STATUS_LABELS = {
  none: 'None',
  open: 'Open',
  assigned: 'Assigned (overridden)',
  assigned_realistic: 'Assigned with realistic due date',
  not_assigned: 'Not assigned',
  dismissed: 'Dismissed',
  exempt: 'Exempt',
} as const;

export type ExceptionStatus = keyof typeof EXCEPTION_STATUS_LABELS;

export const EXCEPTION_STATUSES = Object.keys(EXCEPTION_STATUS_LABELS) as ExceptionStatus[];

/** Counts by state with every state present, those with none as 0. */
export function countsForEveryState(counts: Partial<Record<ReportState, number>>): Record<ReportState, number> {
  return Object.fromEntries(REPORT_STATES.map((state) => [state, counts[state] ?? 0])) as Record<ReportState, number>;
}
