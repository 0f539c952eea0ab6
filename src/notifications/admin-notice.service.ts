import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Staff } from '../auth/staff.entity';
import { UrlBuilder } from '../common/url';
import { sql, SqlRunner } from '../database/sql';
import { TYPE_LABELS } from '../exceptions/exception-rules';
import { OutboxService } from './outbox.service';
import { raisedSinceNotice, raisedSinceNoticeLine } from './notice-counts';

export type AdminNoticeOutcome =
  | { sent: number; key: string }
  /** Raised inside the interval after the previous notice: told by the next notice once it has passed. */
  | { sent: 0; deferred: 'interval' }
  | { sent: 0; skipped: 'nothing_raised' | 'no_certification' | 'none_open' | 'already_told' | 'no_recipients' };

export interface DueNoticesResult {
  /** Certifications whose pending notice was due. */
  due: number;
  /** Of those, notices written (each to every recipient). */
  sent: number;
}

export interface StaffAccount {
  id: number;
  username: string;
  displayName: string;
  role: 'admin' | 'viewer';
  email: string | null;
  notifyExceptions: boolean;
  /** The person's own time zone; null for the site's. */
  timeZone: string | null;
}

/**
 * The site administrators' notice of new exceptions (DOMAIN.md §5, §10): after a sync run that
 * raised exceptions, one email per opted-in active administrator with an address and per extra
 * recipient the certification names, at most one notice per certification per sync run and none
 * within the interval after the previous one. Exceptions raised inside the interval are not
 * dropped: the certification's notice is marked pending, and the next notice (the scheduled
 * sendDueNotices() once the interval has passed, or an earlier sync after it) tells them.
 *
 * admin_notice keeps, per certification, when the last notice went out, the newest exception
 * raised by then (told_through_exception_id: anything newer is "raised since the last notice", and
 * newer and open is "new"), and
 * since when a notice is pending. Its row lock makes two workers deciding for the same
 * certification take turns.
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
    const staff = await this.em.findOne(Staff, staffId);
    if (!staff) return null;
    const { id, username, displayName, role, email, notifyExceptions, timeZone } = staff;
    return { id, username, displayName, role, email, notifyExceptions, timeZone };
  }

  /** A person's own time zone (null: the site's), for anyone signed in. */
  async saveTimeZone(staffId: number, timeZone: string | null): Promise<void> {
    const staff = await this.em.findOne(Staff, staffId);
    if (!staff) return;
    staff.timeZone = timeZone;
    await this.em.flush();
  }

  /** An administrator's own notice settings. */
  async saveNoticeSettings(staffId: number, email: string | null, notifyExceptions: boolean): Promise<void> {
    const staff = await this.em.findOne(Staff, { id: staffId, role: 'admin' });
    if (!staff) return;
    staff.email = email;
    staff.notifyExceptions = notifyExceptions;
    await this.em.flush();
  }

  @CreateRequestContext()
  async notifyNewExceptions(certificationId: number, syncRunId: number): Promise<AdminNoticeOutcome> {
    return this.em.transactional((em) => this.notifyInTransaction(em, certificationId, syncRunId));
  }

  /**
   * The notice of what sync run `syncRunId` raised, written in the caller's transaction: membership
   * sync calls this in the transaction that ends the run, so that the notice (or its pending mark)
   * commits with it. The run's exceptions are found by their sync_run_id, never listed in Node; an
   * earlier run of the certification that stopped between its chunks (never finished) counts as
   * part of this one, so that what it raised is told too.
   */
  async notifyInTransaction(em: EntityManager, certificationId: number, syncRunId: number): Promise<AdminNoticeOutcome> {
    const db = new SqlRunner(em);
    const runs = sql`(select ${syncRunId}::bigint union all
                      select r.id from sync_run r where r.certification_id = ${certificationId} and r.finished_at is null and r.id < ${syncRunId})`;
    const anyRaised = await db.one<{ raised: boolean }>(sql`
      select exists (select 1 from exception e where e.sync_run_id in ${runs} and e.certification_id = ${certificationId}) as raised`);
    if (!anyRaised?.raised) return { sent: 0, skipped: 'nothing_raised' };
    const notice = await this.lockNotice(db, certificationId);
    if (!notice) return { sent: 0, skipped: 'no_certification' };
    const raised = await db.one<{ open: boolean; untold: boolean }>(sql`
      select exists (select 1 from exception e where e.sync_run_id in ${runs} and e.certification_id = ${certificationId}
                        and e.status = 'open') as open,
             exists (select 1 from exception e where e.sync_run_id in ${runs} and e.certification_id = ${certificationId}
                        and e.status = 'open' and e.id > ${notice.toldThrough}) as untold`);
    if (!raised?.open) return { sent: 0, skipped: 'none_open' };
    if (!raised.untold) return { sent: 0, skipped: 'already_told' };
    if (notice.recent) {
      await db.run(sql`update admin_notice set pending_since = coalesce(pending_since, now()) where certification_id = ${certificationId}`);
      return { sent: 0, deferred: 'interval' };
    }
    return this.writeNotice(em, notice);
  }

  /**
   * The scheduled job: every pending notice whose interval has passed is written, once. Nothing
   * is sent when the exceptions it would tell were all handled meanwhile.
   */
  @CreateRequestContext()
  async sendDueNotices(): Promise<DueNoticesResult> {
    const due = await new SqlRunner(this.em).rows<{ certification_id: number }>(sql`
      select certification_id from admin_notice
       where pending_since is not null and sent_at <= now() - make_interval(mins => ${this.config.adminNoticeIntervalMinutes})
       order by certification_id`);
    let sent = 0;
    for (const { certification_id } of due) {
      const outcome = await this.em.fork().transactional(async (em) => {
        const notice = await this.lockNotice(new SqlRunner(em), certification_id);
        // Another worker (or a sync after the interval) has told them meanwhile.
        if (!notice || notice.pendingSince === null || notice.recent) return null;
        return this.writeNotice(em, notice);
      });
      if (outcome && outcome.sent > 0) sent++;
    }
    return { due: due.length, sent };
  }

  /** The certification's notice row, locked for this transaction (made on its first use). */
  private async lockNotice(db: SqlRunner, certificationId: number): Promise<NoticeRow | null> {
    const certification = await db.one<{ full_name: string }>(sql`select full_name from certification where id = ${certificationId}`);
    if (!certification) return null;
    await db.run(sql`insert into admin_notice (certification_id, sent_at) values (${certificationId}, '-infinity') on conflict do nothing`);
    const row = await db.one<LockedNoticeRow>(sql`
      select sent_at > now() - make_interval(mins => ${this.config.adminNoticeIntervalMinutes}) as recent,
             told_through_exception_id as told_through, pending_since, sent_at > '-infinity' as told_before
        from admin_notice where certification_id = ${certificationId} for update`);
    if (!row) return null;
    return {
      certificationId,
      name: certification.full_name,
      recent: row.recent,
      toldThrough: Number(row.told_through),
      pendingSince: row.pending_since,
      toldBefore: row.told_before,
    };
  }

  /**
   * One notice of the exceptions opened since the last one and still open, with the counts by
   * type of every open exception, to every recipient; then the row records it. Message keys name
   * the first exception the notice tells, so that the same notice is never written twice.
   */
  private async writeNotice(em: EntityManager, notice: NoticeRow): Promise<AdminNoticeOutcome> {
    const db = new SqlRunner(em);
    const { certificationId, name } = notice;
    const untold = await db.one<{ n: number; first: string | null; last: string | null }>(sql`
      select count(*)::int as n, min(id) as first, max(id) as last
        from exception where certification_id = ${certificationId} and status = 'open' and id > ${notice.toldThrough}`);
    const clearPending = sql`update admin_notice set pending_since = null where certification_id = ${certificationId}`;
    if (!untold || untold.n === 0) {
      await db.run(clearPending);
      return { sent: 0, skipped: 'none_open' };
    }
    const sinceLast = await raisedSinceNotice(db, certificationId, notice.toldThrough);
    const counts = await db.rows<{ type: string; n: number }>(
      sql`select type, count(*)::int as n from exception where certification_id = ${certificationId} and status = 'open' group by type`,
    );
    const link = this.urls.absolute('/certifications/', certificationId, '/exceptions');
    const subject = `Exceptions require attention in certification «${name}»`;
    const lines = Object.entries(TYPE_LABELS)
      .map(([type, label]) => ({ label, n: counts.find((c) => c.type === type)?.n ?? 0 }))
      .filter((c) => c.n > 0)
      .map((c) => `${c.label}: ${c.n}`);
    const total = counts.reduce((sum, c) => sum + c.n, 0);
    const newExceptions = `${untold.n} new ${untold.n === 1 ? 'exception' : 'exceptions'}`;
    const body = (why: string) =>
      [
        `The certification «${name}» has ${newExceptions}${notice.toldBefore ? ' since the last notice' : ''}.`,
        `${notice.toldBefore ? 'Since the last notice: ' : ''}${raisedSinceNoticeLine(sinceLast)}.`,
        `Learners with an open exception are not assigned and receive no messages until the exception is handled.`,
        `Open exceptions (${total}):\n${lines.join('\n')}`,
        `Open the exception report:\n${link}`,
        why,
      ].join('\n\n');
    const staffBody = body(
      `You receive this because you are a site administrator of Certex. You can switch these emails off on your account page:\n${this.urls.absolute('/account')}`,
    );
    const extraBody = body(
      `You receive this because the certification «${name}» in Certex names you as a recipient of its exception notices.`,
    );
    const key = `admin_exceptions:${certificationId}:${untold.first}`;
    const inserted = await this.outbox.write(
      em,
      sql`with admins as (
            select s.id, s.email, s.display_name from staff s
             where s.role = 'admin' and not s.disabled and s.notify_exceptions and coalesce(s.email, '') <> '')
          select ${key}::text || ':' || a.id as message_key, 'admin_exceptions' as kind, a.email as to_address,
                 a.display_name as to_name, ${subject}::text as subject, ${staffBody}::text as body_text,
                 ${certificationId}::integer as certification_id, null::integer as membership_id, a.id as staff_id
            from admins a
          union all
          select ${key}::text || ':to:' || lower(r.address), 'admin_exceptions', r.address, null, ${subject}::text, ${extraBody}::text,
                 ${certificationId}::integer, null::integer, null::integer
            from certification c cross join lateral unnest(c.notice_recipients) as r(address)
           where c.id = ${certificationId} and not exists (select 1 from admins a where lower(a.email) = lower(r.address))`,
    );
    if (inserted.length === 0) {
      await db.run(clearPending);
      return { sent: 0, skipped: 'no_recipients' };
    }
    await db.run(sql`
      update admin_notice set sent_at = now(), told_through_exception_id = greatest(${untold.last}::bigint, ${sinceLast.lastId}::bigint), pending_since = null
       where certification_id = ${certificationId}`);
    return { sent: inserted.length, key };
  }
}

interface LockedNoticeRow {
  recent: boolean;
  told_through: string;
  pending_since: Date | null;
  told_before: boolean;
}

interface NoticeRow {
  certificationId: number;
  name: string;
  /** The previous notice went out inside the interval. */
  recent: boolean;
  toldThrough: number;
  pendingSince: Date | null;
  /** A notice went out before. */
  toldBefore: boolean;
}
