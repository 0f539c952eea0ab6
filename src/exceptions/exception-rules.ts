/** The exception types, the bulk actions, and which action fits which type (DOMAIN.md §3). */

export const EXCEPTION_TYPES = ['time_allowance', 'duplicate_course', 'completion_time_unknown', 'unknown'] as const;
export type ExceptionType = (typeof EXCEPTION_TYPES)[number];

export const TYPE_LABELS: Record<ExceptionType, string> = {
  time_allowance: 'Time allowance',
  duplicate_course: 'Duplicate course',
  completion_time_unknown: 'Completion time unknown',
  unknown: 'Unknown',
};

export const BULK_ACTIONS = ['assign', 'assign_realistic', 'do_not_assign', 'dismiss'] as const;
export type BulkActionName = (typeof BULK_ACTIONS)[number];

/** What a bulk action does: one of the four actions, or reopening exceptions that were handled. */
export type ActionName = BulkActionName | 'reopen';

export const ACTION_LABELS: Record<ActionName, string> = {
  assign: 'Assign',
  assign_realistic: 'Set realistic due date and assign',
  do_not_assign: 'Do not assign',
  dismiss: 'Dismiss the exception',
  reopen: 'Reopen exception',
};

/** The exception's (and the membership's) status once the action is applied. */
export const ACTION_STATUS: Record<BulkActionName, string> = {
  assign: 'assigned',
  assign_realistic: 'assigned_realistic',
  do_not_assign: 'not_assigned',
  dismiss: 'dismissed',
};

const FITS: Record<BulkActionName, readonly ExceptionType[]> = {
  assign: ['time_allowance', 'duplicate_course'],
  assign_realistic: ['time_allowance', 'completion_time_unknown'],
  do_not_assign: EXCEPTION_TYPES,
  dismiss: EXCEPTION_TYPES,
};

export function isExceptionType(value: unknown): value is ExceptionType {
  return typeof value === 'string' && (EXCEPTION_TYPES as readonly string[]).includes(value);
}

export function isBulkAction(value: unknown): value is BulkActionName {
  return typeof value === 'string' && (BULK_ACTIONS as readonly string[]).includes(value);
}

export function actionFits(action: BulkActionName, type: ExceptionType): boolean {
  return FITS[action].includes(type);
}

export function fittingTypes(action: BulkActionName): readonly ExceptionType[] {
  return FITS[action];
}

/** "All time allowance issues": the Select option of a type. */
export function conditionLabel(type: ExceptionType): string {
  return `All ${TYPE_LABELS[type].toLowerCase()} issues`;
}

function issues(count: number, type: ExceptionType): string {
  return `${count.toLocaleString('en-GB')} ${TYPE_LABELS[type].toLowerCase()} ${count === 1 ? 'issue' : 'issues'}`;
}

/**
 * Why an action cannot be applied to a selection, naming the types and counts it does not fit;
 * null when it fits every selected exception.
 */
export function refusal(action: BulkActionName, countsByType: Partial<Record<ExceptionType, number>>): string | null {
  const misfits = EXCEPTION_TYPES.filter((type) => (countsByType[type] ?? 0) > 0 && !actionFits(action, type));
  if (misfits.length === 0) return null;
  const parts = misfits.map((type) => issues(countsByType[type]!, type));
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
  return `${ACTION_LABELS[action]} cannot be applied to ${list} in your selection. Choose another action or select fewer learners.`;
}
