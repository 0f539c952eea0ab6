import { BigIntType, Entity, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { ActionName, ExceptionType } from './exception-rules';

export type ExceptionStatus = 'open' | 'assigned' | 'assigned_realistic' | 'not_assigned' | 'dismissed' | 'resolved';

/** A problem membership sync found with a learner's membership, open until handled or resolved. */
@Entity({ tableName: 'exception' })
export class CertificationException {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'integer' })
  membershipId!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'integer' })
  learnerId!: number;

  @Property({ type: 'string', length: 30 })
  type!: ExceptionType;

  @Property({ type: 'json', defaultRaw: `'{}'` })
  evidence!: Record<string, unknown> & Opt;

  @Property({ type: 'text' })
  summary!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  raisedAt!: Date & Opt;

  @Property({ type: 'string', length: 30, defaultRaw: `'open'` })
  status!: ExceptionStatus & Opt;

  @Property({ type: 'datetime', nullable: true })
  handledAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  handledBy: number | null = null;

  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  @Property({ type: new BigIntType('number'), nullable: true })
  bulkActionId: number | null = null;

  /** The membership sync run that raised it (null for an imported exception). */
  @Property({ type: new BigIntType('number'), nullable: true })
  syncRunId: number | null = null;

  /** Kept by a trigger from the learner. */
  @Property({ type: 'text', persist: false })
  learnerSortName?: string;

  /** Kept by a trigger from the learner. */
  @Property({ type: 'string', length: 100, persist: false })
  learnerIdNumber?: string;

  /** Kept by a trigger from the learner: what the Exception report's search matches. */
  @Property({ type: 'text', persist: false, lazy: true })
  learnerSearch?: string;
}

/** One action on one exception: who, why, and the statuses and due dates before and after. */
@Entity({ tableName: 'exception_audit' })
@Unique({ properties: ['exceptionId', 'bulkActionId'] })
export class ExceptionAudit {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: new BigIntType('number') })
  exceptionId!: number;

  @Property({ type: 'integer' })
  membershipId!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: new BigIntType('number'), nullable: true })
  bulkActionId: number | null = null;

  @Property({ type: 'string', length: 30 })
  action!: ActionName;

  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  /** Who acted; null when the certification's exception policy did (byPolicy). */
  @Property({ type: 'integer', nullable: true })
  staffId: number | null = null;

  /** Handled by the certification's exception policy as membership sync raised it. */
  @Property({ type: 'boolean', default: false })
  byPolicy: boolean & Opt = false;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  actedAt!: Date & Opt;

  @Property({ type: 'string', length: 30 })
  statusBefore!: string;

  @Property({ type: 'string', length: 30 })
  statusAfter!: string;

  @Property({ type: 'datetime', nullable: true })
  dueBefore: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  dueAfter: Date | null = null;
}
