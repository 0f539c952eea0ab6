import { BigIntType, Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';

/** One membership sync of a certification, with what it changed. */
@Entity({ tableName: 'sync_run' })
export class SyncRun {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'integer', nullable: true })
  certificationId: number | null = null;

  @Property({ type: 'string', length: 100 })
  reason!: string;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  requestedAt!: Date & Opt;

  @Property({ type: 'datetime', nullable: true })
  startedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  finishedAt: Date | null = null;

  @Property({ type: 'json', nullable: true })
  stats: object | null = null;
}
