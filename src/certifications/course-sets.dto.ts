import { Expose, Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayNotEmpty, IsIn, IsNotEmpty, Matches } from 'class-validator';
import { MaxLength } from '../common/forms';
import type { Joiner } from './minimum-time';
import { trim } from '../common/form-transforms';

export const PATHS = ['certification', 'recertification'] as const;
export type PathName = (typeof PATHS)[number];
export const PATH_LABELS: Record<PathName, string> = { certification: 'Certification path', recertification: 'Recertification path' };

export const RULES = ['all', 'any'] as const;
export type CompletionRule = (typeof RULES)[number];
export const RULE_LABELS: Record<CompletionRule, string> = { all: 'All courses', any: 'Any one course' };

export const JOINERS = ['and', 'or', 'then'] as const;
export const JOINER_LABELS: Record<Joiner, string> = { and: 'AND', or: 'OR', then: 'THEN' };

const list = ({ value }: { value: unknown }) =>
  value === undefined || value === null || value === '' ? [] : Array.isArray(value) ? (value as unknown[]) : [value];

export class CourseSetForm {
  @Expose()
  @Transform(trim)
  @MaxLength(200, { message: 'Name must be 200 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a name for the course set' })
  name: string;

  @Expose()
  @Transform(list)
  @Matches(/^\d{1,9}$/, { each: true, message: 'Choose courses from the list' })
  @ArrayMaxSize(500, { message: 'A course set can hold at most 500 courses' })
  @ArrayNotEmpty({ message: 'Choose at least one course' })
  courses: string[];

  @Expose()
  @IsIn(RULES, { message: 'Choose whether learners must complete all courses or any one course' })
  rule: CompletionRule;

  @Expose()
  @Transform(trim)
  @Matches(/^\d{1,4}$/, { message: 'Minimum time must be a whole number of days from 0 to 9999' })
  @IsNotEmpty({ message: 'Enter the minimum time in days, for example 7' })
  minDays: string;

  @Expose()
  @IsIn(JOINERS, { message: 'Choose how this set joins the next one: AND, OR or THEN' })
  joiner: Joiner;
}

export interface CourseSetInput {
  name: string;
  courseIds: number[];
  rule: CompletionRule;
  minDays: number;
  joiner: Joiner;
}

export function toCourseSetInput(form: CourseSetForm): CourseSetInput {
  return {
    name: form.name,
    courseIds: [...new Set(form.courses.map(Number))],
    rule: form.rule,
    minDays: Number(form.minDays),
    joiner: form.joiner,
  };
}
