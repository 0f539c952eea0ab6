import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** What the administrators' exception notice of one certification has told, and since when exceptions wait to be told. */
@Entity({ tableName: 'admin_notice' })
export class AdminNotice {
  @PrimaryKey({ type: 'integer', autoincrement: false })
  certificationId!: number;

  @Property({ type: 'datetime' })
  sentAt!: Date;

  /** The newest exception a notice covered (bigint, as a string). */
  @Property({ type: 'bigint' })
  toldThroughExceptionId = '0';

  @Property({ type: 'datetime', nullable: true })
  pendingSince: Date | null = null;
}
