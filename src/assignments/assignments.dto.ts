import { Expose, Transform } from 'class-transformer';
import { IsIn, IsISO8601, IsNotEmpty, Matches, ValidateIf } from 'class-validator';
import { MaxLength } from '../common/forms';
import { trim } from '../common/form-transforms';
import { PERIOD_UNITS, PeriodUnit } from '../certifications/certifications.dto';

export const ASSIGNMENT_KINDS = ['learner', 'audience'] as const;
export type AssignmentKind = (typeof ASSIGNMENT_KINDS)[number];
export const DUE_RULES = ['none', 'fixed', 'relative'] as const;
export type DueRule = (typeof DUE_RULES)[number];
export const DUE_EVENTS = ['assignment', 'hire', 'first_login', 'course_completion'] as const;
export type DueEvent = (typeof DUE_EVENTS)[number];

export const KIND_LABELS: Record<AssignmentKind, string> = { learner: 'A learner', audience: 'An audience' };
export const DUE_RULE_LABELS: Record<DueRule, string> = { none: 'None', fixed: 'Fixed date', relative: 'Relative to an event' };
export const DUE_EVENT_LABELS: Record<DueEvent, string> = {
  assignment: 'Assignment date',
  hire: 'Hire date',
  first_login: 'First login',
  course_completion: 'Completion of a course',
};

/**
 * A due date rule: only the fields the chosen rule needs are checked. Adding an assignment and
 * changing one share these checks.
 */
export class DueRuleForm {
  @Expose()
  @IsIn(DUE_RULES, { message: 'Choose a due date rule' })
  dueRule: DueRule;

  @Expose()
  @Transform(trim)
  @ValidateIf((f: DueRuleForm) => f.dueRule === 'fixed')
  @IsISO8601({ strict: true, strictSeparator: true }, { message: 'Enter a real due date, for example 2027-03-31' })
  @Matches(/^\d{4}-\d{2}-\d{2}$/, { message: 'Enter the due date as year-month-day, for example 2027-03-31' })
  @IsNotEmpty({ message: 'Enter the due date' })
  dueDate: string;

  @Expose()
  @Transform(trim)
  @ValidateIf((f: DueRuleForm) => f.dueRule === 'relative')
  @Matches(/^0*[1-9]\d{0,3}$/, { message: 'The amount must be a whole number from 1 to 9999' })
  @IsNotEmpty({ message: 'Enter how many days, weeks, months or years' })
  dueAmount: string;

  @Expose()
  @ValidateIf((f: DueRuleForm) => f.dueRule === 'relative')
  @IsIn(PERIOD_UNITS, { message: 'Choose days, weeks, months or years' })
  dueUnit: PeriodUnit;

  @Expose()
  @ValidateIf((f: DueRuleForm) => f.dueRule === 'relative')
  @IsIn(DUE_EVENTS, { message: 'Choose the event the due date counts from' })
  dueEvent: DueEvent;

  @Expose()
  @ValidateIf((f: DueRuleForm) => f.dueRule === 'relative' && f.dueEvent === 'course_completion')
  @Matches(/^\d{1,9}$/, { message: 'Choose the course whose completion starts the time' })
  @IsNotEmpty({ message: 'Choose the course whose completion starts the time' })
  dueCourseId: string;
}

/** Add an assignment: who to assign, then the due date rule; only the fields that the choices need are checked. */
export class AssignmentForm extends DueRuleForm {
  @Expose()
  @IsIn(ASSIGNMENT_KINDS, { message: 'Choose whether to assign a learner or an audience' })
  kind: AssignmentKind;

  @Expose()
  @Transform(trim)
  @ValidateIf((f: AssignmentForm) => f.kind === 'learner')
  @MaxLength(100, { message: 'ID number must be 100 characters or fewer' })
  @IsNotEmpty({ message: 'Enter the learner’s ID number' })
  learnerIdNumber: string;

  @Expose()
  @ValidateIf((f: AssignmentForm) => f.kind === 'audience')
  @Matches(/^\d{1,9}$/, { message: 'Choose an audience' })
  @IsNotEmpty({ message: 'Choose an audience' })
  audienceId: string;
}

export interface DueRuleInput {
  dueRule: DueRule;
  /** yyyy-mm-dd, stored as the end of that day in the site's time zone. */
  dueDate: string | null;
  dueAmount: number | null;
  dueUnit: PeriodUnit | null;
  dueEvent: DueEvent | null;
  dueCourseId: number | null;
}

export interface AssignmentInput extends DueRuleInput {
  kind: AssignmentKind;
  learnerIdNumber: string | null;
  audienceId: number | null;
}

/** Keeps only what the chosen kind and rule use, so a stray field never reaches the database. */
export function toAssignmentInput(f: AssignmentForm): AssignmentInput {
  return {
    kind: f.kind,
    learnerIdNumber: f.kind === 'learner' ? f.learnerIdNumber : null,
    audienceId: f.kind === 'audience' ? Number(f.audienceId) : null,
    ...toDueRuleInput(f),
  };
}

/** Keeps only what the chosen rule uses. */
export function toDueRuleInput(f: DueRuleForm): DueRuleInput {
  const relative = f.dueRule === 'relative';
  return {
    dueRule: f.dueRule,
    dueDate: f.dueRule === 'fixed' ? f.dueDate : null,
    dueAmount: relative ? Number(f.dueAmount) : null,
    dueUnit: relative ? f.dueUnit : null,
    dueEvent: relative ? f.dueEvent : null,
    dueCourseId: relative && f.dueEvent === 'course_completion' ? Number(f.dueCourseId) : null,
  };
}
