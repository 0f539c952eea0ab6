import { Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** How an exemption ended: its end date was reached, or a site administrator ended it. */
export type ExemptionEndCause = 'end_date' | 'staff';

/**
 * A learner exempted from a certification (DOMAIN.md §10), in force while `endedAt` is null. Rows
 * are never deleted: ended ones are the learner's exemption history.
 */
@Entity({ tableName: 'exemption' })
export class Exemption {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'integer' })
  learnerId!: number;

  @Property({ type: 'text' })
  reason!: string;

  /** The end of the chosen day in the site's time zone; null for an exemption without end date. */
  @Property({ type: 'datetime', nullable: true })
  endsAt: Date | null = null;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  startedAt!: Date & Opt;

  @Property({ type: 'integer', nullable: true })
  startedBy: number | null = null;

  @Property({ type: 'datetime', nullable: true })
  endedAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  endedBy: number | null = null;

  @Property({ type: 'string', length: 20, nullable: true })
  endCause: ExemptionEndCause | null = null;

  /** The realistic due date the learner was assigned with when the exemption ended (null if not a member then). */
  @Property({ type: 'datetime', nullable: true })
  dueAfter: Date | null = null;
}
