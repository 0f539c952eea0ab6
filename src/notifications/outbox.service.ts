/**
 * The outbox: every email Certex sends is one row of the `outbox` table, written in the same
 * transaction as the change that causes it. The relay (mail-relay.service.ts, worker only) sends
 * the rows; the mail log (/admin/mail) shows them.
 *
 * For other features, the whole API is:
 *
 *   await this.outbox.write(em, source)
 *
 * - The one way mail enters the outbox (outbox-sql.ts): `source` is a SELECT of the columns
 *   message_key, kind, to_address, to_name, subject, body_text, certification_id, membership_id,
 *   staff_id, so that thousands of messages are written set-based with the change that causes
 *   them. Headers are cleaned there, the same for every message; the HTML part is rendered from
 *   subject and body_text when the message is sent or shown (outboxHtmlSql). It resolves to the
 *   rows actually added (id, kind, state).
 *
 *   await this.outbox.enqueue(em, messages)
 *
 * - `em` is the EntityManager of YOUR transaction: call it inside `em.transactional(async (em) => …)`
 *   (or with any em; without a transaction the rows are written at once). The rows commit or roll
 *   back with your change; a rolled-back transaction sends nothing.
 * - `messages` is an array of OutboxMessage (below), made into the source of write().
 *   Each needs a unique `key` from business facts, e.g. `enrolment:<membershipId>:<cycle>`: a key
 *   already in the outbox is skipped (`on conflict (message_key) do nothing`), so a job that runs
 *   twice sends nothing twice. It resolves to the number of rows actually added.
 * - Give `text` (plain text, with absolute links from `UrlBuilder.absolute(...)`); the HTML part is
 *   built from it, escaped, blank lines as paragraphs, with web addresses as links.
 * - Every key gets a fixed Message-ID, `<first 32 hex digits of sha256(key)@domain of MAIL_FROM>`:
 *   a resend after a crash carries the same one, so the recipient's system can drop the copy.
 * - Subject and recipient name are cleaned of line breaks here; an address that is not one plain
 *   mailbox is stored as 'failed' with the reason, never sent, and does not fail your transaction.
 * - With no SMTP_URL the rows are stored as 'kept': never sent, shown in the mail log.
 * - The relay is woken once your transaction commits, and also looks every few seconds.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import { EntityManager } from '@mikro-orm/postgresql';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config';
import { KeysetPage, likeContains, ListQuery, readKeysetPage } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { Sql, sql, SqlRunner } from '../database/sql';
import { mailDomain } from './mail-text';
import { insertOutboxSql, outboxHtmlSql } from './outbox-sql';
import { OutboxMail } from './outbox-mail.entity';
import { MAIL_DRAIN_JOB, MAIL_QUEUE, MAIL_WAKE_JOB_ID } from '../jobs/queues';
import { MAIL_STATES, MailState } from './mail-relay.constants';

export interface OutboxMessage {
  /** Unique, from business facts (at most 300 characters): the same message always has the same key. */
  key: string;
  /** What sort of message, for the log (at most 50 characters): 'enrolment', 'admin-notice', … */
  kind: string;
  toAddress: string;
  toName?: string | null;
  subject: string;
  /** The plain-text body; the HTML part is built from it. */
  text: string;
  certificationId?: number | null;
  membershipId?: number | null;
  staffId?: number | null;
}

/** A row write() added. */
export interface WrittenMail {
  id: string;
  kind: string;
  state: MailState;
}

/** A row of the mail log's list: the fields of OutboxMail it shows. */
export type MailRow = Pick<
  OutboxMail,
  'id' | 'messageKey' | 'kind' | 'toAddress' | 'toName' | 'subject' | 'state' | 'attempts' | 'lastError' | 'createdAt' | 'sentAt'
> & {
  /** The sort key as text with microseconds. */
  kCreated: string;
};

/** The mail log's sort key, newest first. */
export const MAIL_LOG_KEY = ['created_at', 'id'] as const;

/** The mail log counts each state's messages up to this many, and says "more than" beyond. */
export const MAIL_COUNT_LIMIT = 10_000;

@Injectable()
export class OutboxService {
  private readonly logger = new Logger(OutboxService.name);
  private readonly domain: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(MAIL_QUEUE) private readonly queue: Queue,
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
  ) {
    this.domain = mailDomain(config.mailFrom);
  }

  /** Writes the source's messages in `em`'s transaction (see the top of this file); the rows added. */
  async write(em: EntityManager, source: Sql): Promise<WrittenMail[]> {
    const state = this.config.smtpUrl ? 'pending' : 'kept';
    const added = await new SqlRunner(em).rows<WrittenMail>(insertOutboxSql(source, { state, domain: this.domain }));
    const pending = added.find((row) => row.state === 'pending');
    if (pending) this.wakeAfterCommit(em.getTransactionContext(), pending.id);
    return added;
  }

  /** Adds the messages in the caller's transaction; returns how many were new. See the top of this file. */
  async enqueue(em: EntityManager, messages: readonly OutboxMessage[]): Promise<number> {
    if (messages.length === 0) return 0;
    return (await this.write(em, messagesSource(messages))).length;
  }

  /** Asks the relay to send what is ready now (debounced; never throws: the schedule catches up within seconds anyway). */
  async wake(): Promise<void> {
    if (!this.config.smtpUrl) return;
    try {
      await this.queue.add(MAIL_DRAIN_JOB, {}, { jobId: MAIL_WAKE_JOB_ID, attempts: 1, removeOnComplete: true, removeOnFail: true });
    } catch (error) {
      this.logger.warn(`could not wake the mail relay: ${(error as Error).message}`);
    }
  }

  // ---- The mail log -------------------------------------------------------------------------

  list(query: ListQuery & { state: MailState | null }): Promise<KeysetPage<MailRow>> {
    const where = [sql`true`];
    if (query.state) where.push(sql`state = ${query.state}`);
    if (query.q) {
      const like = likeContains(query.q);
      where.push(sql`(lower(to_address) like ${like} or lower(subject) like ${like} or lower(message_key) like ${like})`);
    }
    return readKeysetPage<MailRow>(new SqlRunner(this.em), {
      select: (keyset) => sql`
        select id::text as id, message_key as "messageKey", kind, to_address as "toAddress", to_name as "toName", subject, state,
               attempts, last_error as "lastError", created_at as "createdAt", sent_at as "sentAt",
               to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "kCreated"
          from outbox where ${sql.join(where, ' and ')} and ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: MAIL_LOG_KEY,
      direction: 'desc',
      page: query.page,
      keyOf: (row) => [row.kCreated, Number(row.id)],
      hrefFor: (param) => this.urls.withQuery('/admin/mail', { state: query.state, q: query.q, ...param }),
    });
  }

  /**
   * Each state's messages, counted through outbox_state and only up to MAIL_COUNT_LIMIT + 1, so
   * that the mail log costs the same however many messages were ever sent.
   */
  async countsByState(): Promise<Record<MailState, number>> {
    const counts = MAIL_STATES.map(
      (state) =>
        sql`(select count(*)::int from (select 1 from outbox where state = ${state} limit ${MAIL_COUNT_LIMIT + 1}) up_to_limit) as ${sql.raw(state)}`,
    );
    return (await new SqlRunner(this.em).one<Record<MailState, number>>(sql`select ${sql.join(counts, ', ')}`))!;
  }

  /** One message, for its page in the mail log, with its HTML part as it is sent. */
  async get(id: number): Promise<OutboxMail | null> {
    const message = await this.em.findOne(OutboxMail, { id: String(id) });
    if (message && message.bodyHtml === null) {
      const rendered = await new SqlRunner(this.em).one<{ html: string }>(
        sql`select ${outboxHtmlSql('o')} as html from outbox o where o.id = ${id}`,
      );
      message.bodyHtml = rendered?.html ?? null;
    }
    return message;
  }

  /** A failed message goes back to the relay as new (attempts 0). False if it is not failed (any more). */
  async retry(id: number): Promise<boolean> {
    const state: MailState = this.config.smtpUrl ? 'pending' : 'kept';
    const changed = await new SqlRunner(this.em).run(sql`
      update outbox set state = ${state}, attempts = 0, next_attempt_at = now(), locked_until = null
       where id = ${id} and state = 'failed'`);
    if (changed > 0) await this.wake();
    return changed > 0;
  }

  // ---- Inside -------------------------------------------------------------------------------

  /**
   * Wakes the relay when the caller's transaction has ended: knex settles the root transaction's
   * executionPromise then, the same way for a commit and a rollback, so the row `insertedId` (when
   * known) tells which it was.
   */
  private wakeAfterCommit(trx: unknown, insertedId?: string): void {
    let root = trx as { parentTransaction?: unknown; executionPromise?: Promise<unknown> } | undefined;
    while (root?.parentTransaction) root = root.parentTransaction;
    if (!root?.executionPromise) {
      void this.wake();
      return;
    }
    const ended = async () => {
      try {
        // Outside any transaction: whether the row was committed.
        const outside = new SqlRunner(this.em.fork());
        if (insertedId && !(await outside.one<{ id: string }>(sql`select id::text as id from outbox where id = ${insertedId}`))) return;
        await this.wake();
      } catch (error) {
        this.logger.warn(`could not wake the mail relay: ${(error as Error).message}`);
      }
    };
    root.executionPromise.then(ended, ended);
  }
}

/** Messages as the source of write(): one JSON parameter, however many there are. */
function messagesSource(messages: readonly OutboxMessage[]): Sql {
  const rows = messages.map((m) => {
    if (!m.key || m.key.length > 300) throw new Error(`outbox: a message key must be 1 to 300 characters (kind ${m.kind})`);
    if (!m.kind || m.kind.length > 50) throw new Error(`outbox: a message kind must be 1 to 50 characters (key ${m.key})`);
    return {
      message_key: m.key,
      kind: m.kind,
      to_address: withoutNul(m.toAddress ?? ''),
      to_name: m.toName == null ? null : withoutNul(m.toName),
      subject: withoutNul(m.subject),
      body_text: withoutNul(m.text),
      certification_id: m.certificationId ?? null,
      membership_id: m.membershipId ?? null,
      staff_id: m.staffId ?? null,
    };
  });
  return sql`select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as m(message_key text, kind text, to_address text,
    to_name text, subject text, body_text text, certification_id int, membership_id int, staff_id int)`;
}

/** PostgreSQL text (and JSON) cannot hold NUL characters. */
function withoutNul(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u0000/g, '');
}
