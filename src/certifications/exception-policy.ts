/**
 * A certification's exception policy (DOMAIN.md §10): per type, whether membership sync holds a new
 * exception for an administrator or handles it at once with the action a person would choose.
 * Completion time unknown and unknown exceptions are always held.
 */

export const TIME_ALLOWANCE_POLICIES = ['hold', 'assign_realistic'] as const;
export type TimeAllowancePolicy = (typeof TIME_ALLOWANCE_POLICIES)[number];

export const DUPLICATE_COURSE_POLICIES = ['hold', 'do_not_assign'] as const;
export type DuplicateCoursePolicy = (typeof DUPLICATE_COURSE_POLICIES)[number];

export const TIME_ALLOWANCE_POLICY_LABELS: Record<TimeAllowancePolicy, string> = {
  hold: 'Hold for an administrator',
  assign_realistic: 'Set realistic due date and assign automatically',
};

export const DUPLICATE_COURSE_POLICY_LABELS: Record<DuplicateCoursePolicy, string> = {
  hold: 'Hold for an administrator',
  do_not_assign: 'Do not assign automatically',
};

export interface ExceptionPolicy {
  timeAllowancePolicy: TimeAllowancePolicy;
  duplicateCoursePolicy: DuplicateCoursePolicy;
}

/** A type a policy can handle, and the action it then takes: the bulk action of the same name. */
export interface PolicyRule {
  type: 'time_allowance' | 'duplicate_course';
  action: 'assign_realistic' | 'do_not_assign';
}

/** The rules a policy turns on (none when it holds everything). */
export function policyRules(policy: ExceptionPolicy): PolicyRule[] {
  const rules: PolicyRule[] = [];
  if (policy.timeAllowancePolicy === 'assign_realistic') rules.push({ type: 'time_allowance', action: 'assign_realistic' });
  if (policy.duplicateCoursePolicy === 'do_not_assign') rules.push({ type: 'duplicate_course', action: 'do_not_assign' });
  return rules;
}
