import { connect } from 'node:net';
import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { createTransport, Transporter } from 'nodemailer';
import SMTPPool from 'nodemailer/lib/smtp-pool';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config';
import { backoffSeconds, errorText, headerText, isPlainAddress } from './mail-text';
import { INVALID_ADDRESS, outboxHtmlSql } from './outbox-sql';
import {
  MAIL_BACKOFF_BASE_SECONDS,
  MAIL_BATCH_SIZE,
  MAIL_LEASE_SECONDS,
  MAIL_MAX_ATTEMPTS,
  MAIL_POOL_SIZE,
  MAIL_SEND_BUDGET_MS,
  MAIL_TRANSPORT_TIMEOUTS,
  MailState,
} from './mail-relay.constants';
import { sql, SqlRunner } from '../database/sql';

interface ClaimedRow {
  id: string;
  message_id: string;
  to_address: string;
  to_name: string | null;
  subject: string;
  body_text: string;
  body_html: string;
  /** Attempts including this one. */
  attempts: number;
}

interface Outcome {
  id: string;
  ok: boolean;
  error?: string;
  /** Seconds until the next attempt. */
  wait?: number;
  /** Never worth another attempt. */
  permanent?: boolean;
}

export interface DrainResult {
  sent: number;
  retrying: number;
  failed: number;
}

/** Outcomes are written in small groups, one statement each, in the order they were added. */
class OutcomeWriter {
  private buffer: Outcome[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly write: (outcomes: Outcome[]) => Promise<void>,
    private readonly groupSize: number,
  ) {}

  add(outcome: Outcome): Promise<void> {
    this.buffer.push(outcome);
    return this.buffer.length >= this.groupSize ? this.flush() : Promise.resolve();
  }

  flush(): Promise<void> {
    const group = this.buffer;
    this.buffer = [];
    if (group.length > 0) this.chain = this.chain.then(() => this.write(group));
    return this.chain;
  }
}

type SocketCallback = (error: Error | null, socketOptions: { connection: unknown } | null) => void;

/**
 * Opens the TCP connection for a pooled SMTP connection with Nagle's algorithm off. Left on,
 * the last small write of each message (the ending dot) waits for the server's delayed ACK,
 * about 40 ms per message and connection; nodemailer then speaks SMTP (and TLS) over it as usual.
 */
function noDelaySocket(options: SMTPPool.Options, callback: SocketCallback) {
  const socket = connect({ host: options.host || 'localhost', port: Number(options.port) || (options.secure ? 465 : 587), noDelay: true });
  const timer = setTimeout(() => {
    socket.destroy();
    callback(Object.assign(new Error('Connection timeout'), { code: 'ETIMEDOUT' }), null);
  }, MAIL_TRANSPORT_TIMEOUTS.connectionTimeout);
  const failed = (error: Error) => {
    clearTimeout(timer);
    callback(Object.assign(error, { code: (error as { code?: string }).code ?? 'ECONNECTION' }), null);
  };
  socket.once('error', failed);
  socket.once('connect', () => {
    clearTimeout(timer);
    socket.off('error', failed);
    callback(null, { connection: socket });
  });
}

/**
 * The relay (worker only): claims ready outbox rows with FOR UPDATE SKIP LOCKED, marks them
 * 'sending' for a lease (committed), sends them through a pooled SMTP transport and records each
 * outcome. A relay that dies leaves its rows 'sending'; once the lease has passed another relay
 * takes them over and may send some a second time, always with the same Message-ID.
 */
@Injectable()
export class MailRelayService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(MailRelayService.name);
  private readonly transport: Transporter | null;
  private running: Promise<DrainResult> | null = null;
  private again = false;
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly em: EntityManager,
  ) {
    // The pool is built directly: createTransport({ url, ... }) would keep the URL's settings and
    // silently drop every other option (no pool, default timeouts).
    this.transport = config.smtpUrl
      ? createTransport(
          new SMTPPool({
            url: config.smtpUrl,
            pool: true,
            maxConnections: MAIL_POOL_SIZE,
            maxMessages: 1000,
            getSocket: noDelaySocket,
            ...MAIL_TRANSPORT_TIMEOUTS,
          }),
        )
      : null;
  }

  /**
   * Sends everything that is ready, batch after batch, until nothing is. A call while a drain is
   * running joins it (and makes it look once more at the end).
   */
  drain(): Promise<DrainResult> {
    if (!this.transport || this.stopping) return Promise.resolve({ sent: 0, retrying: 0, failed: 0 });
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => (this.running = null));
    return this.running;
  }

  /** Graceful shutdown: no new batch, the one in flight finishes, then the SMTP connections close. */
  async beforeApplicationShutdown() {
    this.stopping = true;
    await this.running?.catch(() => undefined);
    this.transport?.close();
  }

  private async loop(): Promise<DrainResult> {
    const result: DrainResult = { sent: 0, retrying: 0, failed: 0 };
    const em = this.em.fork();
    do {
      this.again = false;
      await this.failAbandoned(em);
      while (!this.stopping) {
        const leaseEnds = Date.now() + MAIL_LEASE_SECONDS * 1000;
        const batch = await this.claim(em);
        if (batch.length === 0) break;
        await this.sendBatch(em, batch, leaseEnds, result);
      }
    } while (this.again && !this.stopping);
    if (result.sent || result.retrying || result.failed) this.logger.log({ message: 'mail relay drained', ...result });
    return result;
  }

  /** Claims up to a batch of ready rows; the claim commits before anything is sent. */
  private claim(em: EntityManager): Promise<ClaimedRow[]> {
    return new SqlRunner(em).rows<ClaimedRow>(sql`
       with ready as (
         select id from outbox
          where state in ('pending', 'sending') and next_attempt_at <= now()
            and (state = 'pending' or locked_until <= now())
          order by next_attempt_at, id
          limit ${MAIL_BATCH_SIZE}
          for update skip locked)
       update outbox o
          set state = 'sending', locked_until = now() + make_interval(secs => ${MAIL_LEASE_SECONDS}), attempts = o.attempts + 1
         from ready where o.id = ready.id
       returning o.id::text as id, o.message_id, o.to_address, o.to_name, o.subject, o.body_text, ${outboxHtmlSql('o')} as body_html,
                 o.attempts`);
  }

  /** Rows whose relay died while sending them for the last allowed time: failed, not tried again. */
  private async failAbandoned(em: EntityManager) {
    await new SqlRunner(em).run(sql`
      update outbox set state = 'failed', locked_until = null,
             last_error = 'Not sent: the relay stopped while sending it, ' || attempts || ' times.'
       where state = 'sending' and locked_until <= now() and attempts >= ${MAIL_MAX_ATTEMPTS}`);
  }

  /** Sends a batch with as many sends at a time as the pool has connections. */
  private async sendBatch(em: EntityManager, batch: ClaimedRow[], leaseEnds: number, result: DrainResult) {
    const writer = new OutcomeWriter((outcomes) => this.record(em, outcomes, result), 25);
    const queue = [...batch].sort((a, b) => Number(a.id) - Number(b.id));
    const released: string[] = [];
    const runner = async () => {
      for (let row = queue.shift(); row; row = queue.shift()) {
        // Too late in the lease to be sure of finishing: leave it to the next claim.
        if (Date.now() + MAIL_SEND_BUDGET_MS > leaseEnds) released.push(row.id);
        else await writer.add(await this.send(row));
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAIL_POOL_SIZE, batch.length) }, runner));
    await writer.flush();
    if (released.length > 0) {
      await new SqlRunner(em).run(sql`
        update outbox set state = 'pending', locked_until = null, attempts = attempts - 1
         where id = any(${released}::bigint[]) and state = 'sending'`);
    }
  }

  private async send(row: ClaimedRow): Promise<Outcome> {
    if (!isPlainAddress(row.to_address)) {
      return { id: row.id, ok: false, permanent: true, error: INVALID_ADDRESS };
    }
    try {
      await this.transport!.sendMail({
        from: this.config.mailFrom,
        to: { name: headerText(row.to_name), address: row.to_address },
        subject: headerText(row.subject),
        text: row.body_text,
        html: row.body_html,
        messageId: row.message_id,
        headers: { 'Auto-Submitted': 'auto-generated' },
      });
      return { id: row.id, ok: true };
    } catch (error) {
      return { id: row.id, ok: false, error: errorText(error), wait: backoffSeconds(row.attempts, MAIL_BACKOFF_BASE_SECONDS) };
    }
  }

  /** Sent, or back to pending after a backoff, or failed once the attempts are used up. */
  private async record(em: EntityManager, outcomes: Outcome[], result: DrainResult) {
    const outcomesJson = JSON.stringify(outcomes.map((o) => ({ ...o, wait: o.wait ?? 0, permanent: o.permanent ?? false })));
    const rows = await new SqlRunner(em).rows<{ state: MailState }>(sql`
      update outbox o
          set state = case when x.ok then 'sent' when x.permanent or o.attempts >= ${MAIL_MAX_ATTEMPTS} then 'failed' else 'pending' end,
              sent_at = case when x.ok then now() else o.sent_at end,
              last_error = case when x.ok then o.last_error else x.error end,
              next_attempt_at = case when x.ok then o.next_attempt_at else now() + make_interval(secs => x.wait) end,
              locked_until = null
         from jsonb_to_recordset(${outcomesJson}::jsonb) as x(id bigint, ok boolean, error text, wait int, permanent boolean)
        where o.id = x.id and o.state = 'sending'
       returning o.state`);
    for (const row of rows) {
      if (row.state === 'sent') result.sent++;
      else if (row.state === 'failed') result.failed++;
      else result.retrying++;
    }
  }
}
