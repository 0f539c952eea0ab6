import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { MailState } from './mail-relay.constants';

/**
 * One email in the outbox. Written only set-based by OutboxService.write and sent by the relay;
 * the entity serves the mail log's detail page and its retry.
 */
@Entity({ tableName: 'outbox' })
export class OutboxMail {
  /** bigserial: read as a string, never rounded. */
  @PrimaryKey({ type: 'bigint' })
  id!: string;

  @Property({ type: 'string', length: 300 })
  @Unique({ name: 'outbox_message_key_unique' })
  messageKey!: string;

  @Property({ type: 'string', length: 300 })
  messageId!: string;

  @Property({ type: 'string', length: 50 })
  kind!: string;

  @Property({ type: 'string', length: 254 })
  toAddress!: string;

  @Property({ type: 'string', length: 200, nullable: true })
  toName: string | null = null;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  bodyText!: string;

  /** Null for rows written since Migration20261130130000: outboxHtmlSql renders it from subject and bodyText. */
  @Property({ type: 'text', nullable: true })
  bodyHtml: string | null = null;

  @Property({ type: 'string', length: 20 })
  state: MailState = 'pending';

  @Property({ type: 'integer' })
  attempts = 0;

  @Property({ type: 'datetime' })
  nextAttemptAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  sentAt: Date | null = null;

  @Property({ type: 'integer', nullable: true })
  certificationId: number | null = null;

  @Property({ type: 'integer', nullable: true })
  membershipId: number | null = null;

  @Property({ type: 'integer', nullable: true })
  staffId: number | null = null;
}
