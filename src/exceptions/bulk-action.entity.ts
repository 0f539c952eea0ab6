import { BigIntType, Entity, Opt, PrimaryKey, Property } from '@mikro-orm/core';
import type { ActionName } from './exception-rules';
import type { Selection } from './selection';

export type BulkState = 'queued' | 'running' | 'completed' | 'completed_with_failures' | 'failed';
export type ItemOutcome = 'applied' | 'already_handled' | 'failed';

/** An action on a snapshot of exceptions, applied chunk by chunk by its job. */
@Entity({ tableName: 'bulk_action' })
export class BulkAction {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'string', length: 30 })
  action!: ActionName;

  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  @Property({ type: 'text' })
  selectionLabel!: string;

  @Property({ type: 'integer' })
  createdBy!: number;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt!: Date & Opt;

  @Property({ type: 'string', length: 30, defaultRaw: `'queued'` })
  state!: BulkState & Opt;

  @Property({ type: 'integer', defaultRaw: '0' })
  total!: number & Opt;

  @Property({ type: 'integer', defaultRaw: '0' })
  processed!: number & Opt;

  @Property({ type: 'integer', defaultRaw: '0' })
  applied!: number & Opt;

  @Property({ type: 'integer', defaultRaw: '0' })
  alreadyHandled!: number & Opt;

  @Property({ type: 'integer', defaultRaw: '0' })
  failed!: number & Opt;

  @Property({ type: 'datetime', nullable: true })
  startedAt: Date | null = null;

  @Property({ type: 'datetime', nullable: true })
  finishedAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  /** For a reopening: the bulk action whose exceptions it reopens. */
  @Property({ type: new BigIntType('number'), nullable: true })
  reopensBulkActionId: number | null = null;

  /** The id of its job in the queue. */
  @Property({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  jobKey!: string & Opt;
}

/** One exception of a bulk action's snapshot, and what the action did with it. */
@Entity({ tableName: 'bulk_action_item' })
export class BulkActionItem {
  @PrimaryKey({ type: new BigIntType('number') })
  bulkActionId!: number;

  @PrimaryKey({ type: new BigIntType('number') })
  exceptionId!: number;

  @Property({ type: 'string', length: 20, nullable: true })
  outcome: ItemOutcome | null = null;

  @Property({ type: 'text', nullable: true })
  message: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  processedAt: Date | null = null;
}

/** What a confirmation page confirms: made by Continue, used once by OK. */
@Entity({ tableName: 'bulk_action_draft' })
export class BulkActionDraft {
  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  token!: string & Opt;

  @Property({ type: 'integer' })
  certificationId!: number;

  @Property({ type: 'integer' })
  createdBy!: number;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt!: Date & Opt;

  @Property({ type: 'string', length: 30 })
  action!: ActionName;

  @Property({ type: 'text', nullable: true })
  reason: string | null = null;

  @Property({ type: 'json' })
  selection!: Selection & { label: string };

  @Property({ type: new BigIntType('number'), nullable: true })
  bulkActionId: number | null = null;

  @Property({ type: 'datetime', nullable: true })
  usedAt: Date | null = null;
}
