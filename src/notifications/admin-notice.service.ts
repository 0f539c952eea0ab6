import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { intArray } from '../common/sql';
import { UrlBuilder } from '../common/url';
import { insertOutboxSql, newOutboxState } from './outbox-sql';
import { TYPE_LABELS } from '../exceptions/exception-rules';
import { OutboxService } from './outbox.service';


export type AdminNoticeOutcome =
  | { sent: number; key: string }
  | { sent: 0; skipped: 'nothing_raised' | 'no_certification' | 'none_open' | 'interval' | 'no_recipients' };

export interface StaffAccount {
  id: number;
  username: string;
  displayName: string;
  role: 'admin' | 'viewer';
  email: string | null;
  notifyExceptions: boolean;
}

/**
 * The site administrators' notice of new exceptions (DOMAIN.md §5): after a sync run that raised
 * exceptions, one email per opted-in active administrator with an address, at most one notice per
 * certification per sync run and none within the interval after the previous one.
 */
@Injectable()
export class AdminNoticeService {
  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
    private readonly outbox: OutboxService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The signed-in person's own details and notice settings, for the account page. */
  async account(staffId: number): Promise<StaffAccount | null> {
    const [row] = await this.em.getConnection().execute<StaffAccount[]>(
      `select id, username, display_name as "displayName", role, email, notify_exceptions as "notifyExceptions" from staff where id = ?`,
      [staffId],
    );
    return row ?? null;
  }

  /** An administrator's own notice settings. */
  async saveNoticeSettings(staffId: number, email: string | null, notifyExceptions: boolean): Promise<void> {
    await this.em.getConnection().execute(`update staff set email = ?, notify_exceptions = ? where id = ? and role = 'admin'`, [
      email,
      notifyExceptions,
      staffId,
    ]);
  }

  @CreateRequestContext()
  async notifyNewExceptions(certificationId: number, raisedExceptionIds: number[]): Promise<AdminNoticeOutcome> {
    return this.em.transactional((em) => this.notifyInTransaction(em, certificationId, raisedExceptionIds));
  }

  /**
   * The notice written in the caller's transaction: membership sync calls this in the transaction
   * that raised the exceptions, so that the exceptions and their notice commit together.
   */
  async notifyInTransaction(em: EntityManager, certificationId: number, raisedExceptionIds: number[]): Promise<AdminNoticeOutcome> {
    if (raisedExceptionIds.length === 0) return { sent: 0, skipped: 'nothing_raised' };
    const conn = em.getConnection();
    const trx = em.getTransactionContext();
    const q = <T = any>(sql: string, params: unknown[] = []) => conn.execute<T[]>(sql, params as any[], 'all', trx);

    const [certification] = await q<{ full_name: string }>('select full_name from certification where id = ?', [certificationId]);
    if (!certification) return { sent: 0, skipped: 'no_certification' };
    // The row lock makes two workers deciding for the same certification take turns.
    await q(`insert into admin_notice (certification_id, sent_at) values (?, '-infinity') on conflict do nothing`, [certificationId]);
    const [last] = await q<{ recent: boolean }>(
      `select sent_at > now() - make_interval(mins => ?) as recent from admin_notice where certification_id = ? for update`,
      [this.config.adminNoticeIntervalMinutes, certificationId],
    );
    const [stillOpen] = await q<{ n: number }>(
      `select count(*)::int as n from exception where id = any(?::bigint[]) and certification_id = ? and status = 'open'`,
      [intArray(raisedExceptionIds), certificationId],
    );
    if (stillOpen.n === 0) return { sent: 0, skipped: 'none_open' };
    if (last.recent) return { sent: 0, skipped: 'interval' };

    const counts = await q<{ type: string; n: number }>(
      `select type, count(*)::int as n from exception where certification_id = ? and status = 'open' group by type`,
      [certificationId],
    );
    const name = certification.full_name;
    const link = this.urls.absolute('/certifications/', certificationId, '/exceptions');
    const subject = `Exceptions require attention in certification «${name}»`;
    const lines = Object.entries(TYPE_LABELS)
      .map(([type, label]) => ({ label, n: counts.find((c) => c.type === type)?.n ?? 0 }))
      .filter((c) => c.n > 0)
      .map((c) => `${c.label}: ${c.n}`);
    const total = counts.reduce((sum, c) => sum + c.n, 0);
    const body = [
      `The latest membership sync of the certification «${name}» raised ${raisedExceptionIds.length} new ${raisedExceptionIds.length === 1 ? 'exception' : 'exceptions'}.`,
      `Learners with an open exception are not assigned and receive no messages until the exception is handled.`,
      `Open exceptions (${total}):\n${lines.join('\n')}`,
      `Open the exception report:\n${link}`,
      `You receive this because you are a site administrator of Certex. You can switch these emails off on your account page:\n${this.urls.absolute('/account')}`,
    ].join('\n\n');
    // The first exception of the run names the run: the same run never notifies twice.
    const key = `admin_exceptions:${certificationId}:${Math.min(...raisedExceptionIds)}`;
    const inserted = await q(
      insertOutboxSql(
        `select ?::text || ':' || s.id as message_key, 'admin_exceptions' as kind, s.email as to_address, s.display_name as to_name,
                ?::text as subject, ?::text as body_text, ?::integer as certification_id, null::integer as membership_id, s.id as staff_id
           from staff s
          where s.role = 'admin' and not s.disabled and s.notify_exceptions and coalesce(s.email, '') <> ''`,
        this.config,
      ),
      [newOutboxState(this.config), key, subject, body, certificationId],
    );
    if (inserted.length === 0) return { sent: 0, skipped: 'no_recipients' };
    await q('update admin_notice set sent_at = now() where certification_id = ?', [certificationId]);
    await this.outbox.wake(em);
    return { sent: inserted.length, key };
  }
}
