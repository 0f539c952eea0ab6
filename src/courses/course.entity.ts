import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

@Entity({ tableName: 'course' })
export class Course {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  /** Unique whatever its case. */
  @Property({ type: 'string', length: 100 })
  shortName!: string;

  @Property({ type: 'string', length: 255 })
  fullName!: string;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}

export type CompletionSource = 'csv' | 'admin' | 'api' | 'demo';

/** A learner completed a course at a time; the same three facts are recorded once. */
@Entity({ tableName: 'course_completion' })
export class CourseCompletion {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'integer' })
  learnerId!: number;

  @Property({ type: 'integer' })
  courseId!: number;

  @Property({ type: 'datetime' })
  completedAt!: Date;

  @Property({ type: 'string', length: 20 })
  source!: CompletionSource;

  /** The staff account that recorded it by hand. */
  @Property({ type: 'integer', nullable: true })
  recordedBy: number | null = null;

  @Property({ type: 'datetime' })
  recordedAt: Date = new Date();
}
