import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { ExceptionType } from './exception-rules';

/**
 * Open exceptions of a certification and type raised in one quarter hour (UTC), kept by triggers
 * on `exception`: the Exceptions overview's counts by age read these, never the exceptions.
 */
@Entity({ tableName: 'exception_open_quarter_count', readonly: true })
export class ExceptionOpenQuarterCount {
  @PrimaryKey({ type: 'integer' })
  certificationId!: number;

  @PrimaryKey({ type: 'string', length: 30 })
  type!: ExceptionType;

  @PrimaryKey({ type: 'datetime' })
  raisedQuarter!: Date;

  @Property({ type: 'integer' })
  n!: number;
}
