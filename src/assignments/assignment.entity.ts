import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import type { PeriodUnit } from '../certifications/certifications.dto';
import type { AssignmentKind, DueEvent, DueRule } from './assignments.dto';

/** How learners reach a certification: one learner or an audience, with a due date rule. */
@Entity({ tableName: 'assignment' })
export class Assignment {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'string', length: 10 })
  kind!: AssignmentKind;

  @Property({ type: 'integer', nullable: true })
  learnerId: number | null = null;

  @Property({ type: 'integer', nullable: true })
  audienceId: number | null = null;

  @Property({ type: 'string', length: 10 })
  dueRule!: DueRule;

  @Property({ type: 'datetime', nullable: true })
  dueFixedAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  dueAmount: number | null = null;

  @Property({ type: 'string', length: 10, nullable: true })
  dueUnit: PeriodUnit | null = null;

  @Property({ type: 'string', length: 20, nullable: true })
  dueEvent: DueEvent | null = null;

  @Property({ type: 'integer', nullable: true })
  dueCourseId: number | null = null;

  @Property({ type: 'integer', nullable: true })
  createdBy: number | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt!: Date & Opt;
}
