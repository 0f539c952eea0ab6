import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { UrlBuilder } from '../common/url';
import { Sql, sql, SqlRunner } from '../database/sql';
import { MessageTemplatesService } from './message-templates.service';
import { OutboxService } from './outbox.service';
import { compileTemplateSql, fillCompiledSql } from './placeholders';

export interface SweepResult {
  /** Messages written to the outbox, by kind. */
  written: Record<string, number>;
  total: number;
}

/** A removed learner's unenrolment message is sent only this soon after removal, never for old history. */
const UNENROLMENT_WITHIN_DAYS = 7;

/**
 * The placeholders' values, as SQL over membership m, learner l, certification c, and zone (the
 * site's time zone, a bound parameter): dates are days of the site's zone.
 */
const VALUES = {
  learner_first_name: 'l.first_name',
  learner_full_name: "l.first_name || ' ' || l.last_name",
  certification_name: 'c.full_name',
  due_date: "coalesce(to_char(m.due_at at time zone zone.name, 'FMDD FMMonth YYYY'), '')",
  expiry_date: "coalesce(to_char(m.expires_at at time zone zone.name, 'FMDD FMMonth YYYY'), '')",
  link: 'link.value',
};

/** `moment` − `days` days on the site's calendar (`zone`, the site's time zone), as SQL. */
const daysBefore = (moment: Sql, days: Sql, zone: string) =>
  sql`((${moment}) at time zone ${zone}::text - make_interval(days => ${days})) at time zone ${zone}::text`;

/**
 * Which learner messages are due, as one SELECT over memberships × enabled templates. A message is
 * due once per membership and cycle (its key); only assigned learners (assigned at set, exception
 * status none / assigned / assigned with realistic due date) who are not suspended get any. Every
 * moment is a state, not an event, so a sweep that missed one (or a learner assigned late, through
 * Assign on the exception report) still sends it, once. `link` is the {link} placeholder's value.
 * A message already in the outbox is looked up by its key, one index probe per candidate (a
 * subquery, never an anti-join: planned as a scan of an outbox thought small, that join read the
 * whole outbox again for every candidate, the rows the statement itself had just added included).
 */
export const dueMessagesSql = (link: string, membershipFilter: Sql, now: Date, siteZone: string) => sql`
  with t as materialized (
    select certification_id, kind, offset_days,
           ${sql.raw(compileTemplateSql('subject'))} as subject, ${sql.raw(compileTemplateSql('body'))} as body
      from message_template where enabled),
  link as materialized (select ${link}::text as value),
  zone as materialized (select ${siteZone}::text as name)
  select t.kind || ':' || m.id || case when t.kind = 'unenrolment' then '' else ':' || m.cycle end as message_key,
         t.kind, l.email as to_address, l.first_name || ' ' || l.last_name as to_name,
         ${sql.raw(fillCompiledSql('t.subject', VALUES))} as subject,
         ${sql.raw(fillCompiledSql('t.body', VALUES))} as body_text,
         m.certification_id, m.id as membership_id, null::integer as staff_id
    from membership m
    join learner l on l.id = m.learner_id
    join certification c on c.id = m.certification_id
    join t on t.certification_id = m.certification_id
   cross join link
   cross join zone
   where ${membershipFilter}
     and m.assigned_at is not null
     and m.exception_status in ('none', 'assigned', 'assigned_realistic')
     and not l.suspended
     and l.email <> ''
     and case t.kind
           when 'unenrolment' then m.removed_at is not null and m.removed_at > ${daysBefore(sql`${now}::timestamptz`, sql`${UNENROLMENT_WITHIN_DAYS}`, siteZone)}
           else m.removed_at is null and case t.kind
             when 'enrolment' then m.state = 'not_certified' and m.certified_at is null
             when 'due_soon' then m.state = 'not_certified' and m.due_at is not null
                                  and ${now}::timestamptz >= ${daysBefore(sql`m.due_at`, sql`t.offset_days`, siteZone)}
             when 'overdue' then m.state = 'not_certified' and m.due_at is not null and ${now}::timestamptz > m.due_at
             when 'certified' then m.state = 'certified'
             when 'window_open' then m.state = 'window_open'
             when 'window_closing' then m.state = 'window_open' and m.expires_at is not null
                                        and ${now}::timestamptz >= ${daysBefore(sql`m.expires_at`, sql`t.offset_days`, siteZone)}
             when 'failed_to_recertify' then m.state = 'expired'
             else false
           end
         end
     and (select o.id from outbox o
           where o.message_key = t.kind || ':' || m.id || case when t.kind = 'unenrolment' then '' else ':' || m.cycle end
           limit 1) is null`;

/** The learner message sweep (DOMAIN.md §5): set-based, in chunks of memberships, one transaction each. */
@Injectable()
export class LearnerMessagesService {
  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
    private readonly outbox: OutboxService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Writes the messages now due to these memberships, in the caller's transaction: each chunk of
   * Assign or Set realistic due date writes its learners' catch-up messages in its own transaction,
   * so that they commit with the change. Returns how many were written.
   */
  async writeDueFor(em: EntityManager, membershipIds: readonly number[], now: Date = new Date()): Promise<number> {
    if (membershipIds.length === 0) return 0;
    return this.writeDueWhere(em, sql`m.id = any(${membershipIds}::int[])`, now);
  }

  /**
   * The same for the memberships `membershipFilter` (a condition on membership m) selects, so that
   * a caller that changed them set-based names them set-based too, without sending their ids.
   */
  async writeDueWhere(em: EntityManager, membershipFilter: Sql, now: Date = new Date()): Promise<number> {
    await MessageTemplatesService.ensureDefaults(new SqlRunner(em), null);
    const rows = await this.outbox.write(em, dueMessagesSql(this.urls.absolute('/'), membershipFilter, now, this.config.siteTimeZone));
    return rows.length;
  }

  @CreateRequestContext()
  async sweep(now: Date = new Date()): Promise<SweepResult> {
    const db = new SqlRunner(this.em);
    await MessageTemplatesService.ensureDefaults(db, null);
    const range = await db.one<{ low: number | null; high: number | null }>(sql`select min(id) as low, max(id) as high from membership`);
    const written: Record<string, number> = {};
    let total = 0;
    if (!range || range.low === null || range.high === null) return { written, total };
    const chunk = this.config.bulkChunkSize;
    const link = this.urls.absolute('/');
    for (let from = Number(range.low); from <= Number(range.high); from += chunk) {
      const to = from + chunk - 1;
      const rows = await this.em
        .fork()
        .transactional((em) =>
          this.outbox.write(em, dueMessagesSql(link, sql`m.id between ${from} and ${to}`, now, this.config.siteTimeZone)),
        );
      for (const row of rows) {
        written[row.kind] = (written[row.kind] ?? 0) + 1;
        total++;
      }
    }
    return { written, total };
  }
}
