import { ArrayType, Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import type { PeriodUnit, RecertificationBase } from './certifications.dto';
import type { CompletionRule, PathName } from './course-sets.dto';
import type { Joiner } from './minimum-time';
import type { DuplicateCoursePolicy, TimeAllowancePolicy } from './exception-policy';

@Entity({ tableName: 'certification' })
export class Certification {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'string', length: 255 })
  fullName!: string;

  /** Unique whatever its case. */
  @Property({ type: 'string', length: 100 })
  shortName!: string;

  /** Unique when set. */
  @Property({ type: 'string', length: 100, nullable: true })
  idNumber: string | null = null;

  @Property({ type: 'text' })
  summary = '';

  @Property({ type: 'integer' })
  activePeriodAmount!: number;

  @Property({ type: 'string', length: 10 })
  activePeriodUnit!: PeriodUnit;

  @Property({ type: 'integer' })
  windowPeriodAmount!: number;

  @Property({ type: 'string', length: 10 })
  windowPeriodUnit!: PeriodUnit;

  @Property({ type: 'string', length: 20 })
  recertificationBase: RecertificationBase = 'expiry';

  @Property({ type: 'integer' })
  realisticBufferDays = 7;

  /** Stored totals of the two paths' minimum times, kept by the course sets. */
  @Property({ type: 'integer' })
  certificationMinDays = 0;

  @Property({ type: 'integer' })
  recertificationMinDays = 0;

  @Property({ type: ArrayType, columnType: 'text[]' })
  noticeRecipients: string[] = [];

  /** What membership sync does with a time allowance exception it raises (exception-policy.ts). */
  @Property({ type: 'string', length: 30 })
  timeAllowancePolicy: TimeAllowancePolicy = 'hold';

  /** What membership sync does with a duplicate course exception it raises. */
  @Property({ type: 'string', length: 30 })
  duplicateCoursePolicy: DuplicateCoursePolicy = 'hold';

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

/** One step of a certification's path: courses, how many of them count, a minimum time. */
@Entity({ tableName: 'course_set' })
export class CourseSet {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'string', length: 20 })
  path!: PathName;

  /** 1..n on its path; unique per path, checked at commit. */
  @Property({ type: 'integer' })
  position!: number;

  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'string', length: 10, fieldName: 'completion_rule' })
  rule!: CompletionRule;

  @Property({ type: 'integer' })
  minDays = 0;

  @Property({ type: 'string', length: 10 })
  joiner: Joiner = 'and';
}

@Entity({ tableName: 'course_set_course' })
export class CourseSetCourse {
  [PrimaryKeyProp]?: ['courseSetId', 'courseId'];

  @PrimaryKey({ type: 'integer' })
  courseSetId!: number;

  @PrimaryKey({ type: 'integer' })
  courseId!: number;
}
