import { BigIntType, Entity, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { ExceptionStatus } from '../exceptions/exception.entity';

export type MembershipState = 'not_certified' | 'certified' | 'window_open' | 'expired';
export type CertificationPath = 'certification' | 'recertification';

/**
 * One learner in one certification. Written by membership sync, bulk actions and the lifecycle
 * (set-based SQL); the learner's sort keys are kept by a trigger, the report state is generated.
 */
@Entity({ tableName: 'membership' })
export class Membership {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'integer' })
  learnerId!: number;

  @Property({ type: 'datetime', nullable: true })
  dueAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  addedAt!: Date & Opt;

  @Property({ type: 'datetime', nullable: true })
  assignedAt: Date | null = null;

  @Property({ type: 'string', length: 30, defaultRaw: `'none'` })
  exceptionStatus!: ExceptionStatus | 'none' | 'exempt';

  @Property({ type: 'string', length: 20, defaultRaw: `'not_certified'` })
  state!: MembershipState & Opt;

  @Property({ type: 'string', length: 20, defaultRaw: `'certification'` })
  currentPath!: CertificationPath & Opt;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  pathStartedAt!: Date & Opt;

  @Property({ type: 'integer', defaultRaw: '1' })
  cycle!: number & Opt;

  @Property({ type: 'boolean', defaultRaw: 'true' })
  completionRecorded!: boolean & Opt;

  @Property({ type: 'datetime', nullable: true })
  certifiedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  windowOpensAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  removedAt: Date | null = null;

  /** Kept by a trigger from the learner. */
  @Property({ type: 'text', persist: false })
  learnerSortName?: string;

  /** Kept by a trigger from the learner. */
  @Property({ type: 'string', length: 100, persist: false })
  learnerIdNumber?: string;

  /** Generated from the statuses (the completion report's state). */
  @Property({ type: 'string', length: 30, persist: false })
  reportState?: string;
}

/** Which assignment brings a member in. */
@Entity({ tableName: 'membership_source' })
export class MembershipSource {
  @PrimaryKey({ type: 'integer' })
  membershipId!: number;

  @PrimaryKey({ type: 'integer' })
  assignmentId!: number;
}

/** A step of a membership's lifecycle, once per cycle and event. */
@Entity({ tableName: 'membership_history' })
@Unique({ properties: ['membershipId', 'cycle', 'event'] })
export class MembershipHistory {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'integer' })
  membershipId!: number;

  @Property({ type: 'integer' })
  cycle!: number;

  @Property({ type: 'string', length: 20 })
  path!: CertificationPath;

  @Property({ type: 'string', length: 20 })
  state!: MembershipState;

  @Property({ type: 'datetime', nullable: true })
  certifiedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt: Date | null = null;

  @Property({ type: 'string', length: 30 })
  event!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  recordedAt!: Date & Opt;
}
