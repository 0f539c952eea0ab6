import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { MessageKind } from './message-templates';

/** One learner message of a certification (every certification has all eight kinds). */
@Entity({ tableName: 'message_template' })
@Unique({ properties: ['certificationId', 'kind'] })
export class MessageTemplate {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'string', length: 30 })
  kind!: MessageKind;

  @Property({ type: 'boolean' })
  enabled = true;

  @Property({ type: 'string', length: 200 })
  subject!: string;

  @Property({ type: 'text' })
  body!: string;

  /** Days before the due or expiry date, for the kinds that have one. */
  @Property({ type: 'integer', nullable: true })
  offsetDays: number | null = null;

  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @Property({ type: 'integer', nullable: true })
  updatedBy: number | null = null;
}
