import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { intArray } from '../common/sql';
import { UrlBuilder } from '../common/url';
import { MessageTemplatesService } from './message-templates.service';
import { OutboxService } from './outbox.service';
import { insertOutboxSql, newOutboxState } from './outbox-sql';
import { compileTemplateSql, fillCompiledSql } from './placeholders';

export interface SweepResult {
  /** Messages written to the outbox, by kind. */
  written: Record<string, number>;
  total: number;
}

/** Anything with MikroORM's SQL connection methods: a transactional EntityManager or a fork. */
type SqlEm = Pick<EntityManager, 'getConnection' | 'getTransactionContext'>;

/** A removed learner's unenrolment message is sent only this soon after removal, never for old history. */
export const UNENROLMENT_WITHIN_DAYS = 7;

/** The placeholders' values, as SQL over membership m, learner l, certification c. */
const VALUES = {
  learner_first_name: 'l.first_name',
  learner_full_name: "l.first_name || ' ' || l.last_name",
  certification_name: 'c.full_name',
  due_date: "coalesce(to_char(m.due_at at time zone 'UTC', 'FMDD FMMonth YYYY'), '')",
  expiry_date: "coalesce(to_char(m.expires_at at time zone 'UTC', 'FMDD FMMonth YYYY'), '')",
  link: 'link.value',
};

/**
 * Which learner messages are due, as one SELECT over memberships × enabled templates. A message is
 * due once per membership and cycle (its key); only assigned learners (assigned at set, exception
 * status none / assigned / assigned with realistic due date) who are not suspended get any. Every
 * moment is a state, not an event, so a sweep that missed one (or a learner assigned late, through
 * Assign on the exception report) still sends it, once. Parameters: link, those of the membership filter, now (×4).
 */
const dueMessages = (membershipFilter: string) => `
  with t as materialized (
    select certification_id, kind, offset_days,
           ${compileTemplateSql('subject')} as subject, ${compileTemplateSql('body')} as body
      from message_template where enabled),
  link as materialized (select ?::text as value)
  select t.kind || ':' || m.id || case when t.kind = 'unenrolment' then '' else ':' || m.cycle end as message_key,
         t.kind, l.email as to_address, l.first_name || ' ' || l.last_name as to_name,
         ${fillCompiledSql('t.subject', VALUES)} as subject,
         ${fillCompiledSql('t.body', VALUES)} as body_text,
         m.certification_id, m.id as membership_id, null::integer as staff_id
    from membership m
    join learner l on l.id = m.learner_id
    join certification c on c.id = m.certification_id
    join t on t.certification_id = m.certification_id
   cross join link
   where ${membershipFilter}
     and m.assigned_at is not null
     and m.exception_status in ('none', 'assigned', 'assigned_realistic')
     and not l.suspended
     and l.email <> ''
     and case t.kind
           when 'unenrolment' then m.removed_at is not null and m.removed_at > ?::timestamptz - make_interval(days => ${UNENROLMENT_WITHIN_DAYS})
           else m.removed_at is null and case t.kind
             when 'enrolment' then m.state = 'not_certified' and m.certified_at is null
             when 'due_soon' then m.state = 'not_certified' and m.due_at is not null
                                  and ?::timestamptz >= m.due_at - make_interval(days => t.offset_days)
             when 'overdue' then m.state = 'not_certified' and m.due_at is not null and ?::timestamptz > m.due_at
             when 'certified' then m.state = 'certified'
             when 'window_open' then m.state = 'window_open'
             when 'window_closing' then m.state = 'window_open' and m.expires_at is not null
                                        and ?::timestamptz >= m.expires_at - make_interval(days => t.offset_days)
             when 'failed_to_recertify' then m.state = 'expired'
             else false
           end
         end
     and not exists (
       select 1 from outbox o
        where o.message_key = t.kind || ':' || m.id || case when t.kind = 'unenrolment' then '' else ':' || m.cycle end)`;

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
  async writeDueFor(em: SqlEm, membershipIds: readonly number[], now: Date = new Date()): Promise<number> {
    if (membershipIds.length === 0) return 0;
    await MessageTemplatesService.ensureDefaults(
      (sql, params) => em.getConnection().execute(sql, params as any[], 'all', em.getTransactionContext()),
      null,
    );
    const rows = await em
      .getConnection()
      .execute(
        insertOutboxSql(dueMessages('m.id = any(?::int[])'), this.config),
        [newOutboxState(this.config), this.urls.absolute('/'), intArray(membershipIds), now, now, now, now],
        'all',
        em.getTransactionContext(),
      );
    if (rows.length > 0) await this.outbox.wake(em);
    return rows.length;
  }

  @CreateRequestContext()
  async sweep(now: Date = new Date()): Promise<SweepResult> {
    const conn = this.em.getConnection();
    await MessageTemplatesService.ensureDefaults((sql, params) => conn.execute(sql, params as any[]), null);
    const [range] = await conn.execute<Array<{ low: number | null; high: number | null }>>(
      'select min(id) as low, max(id) as high from membership',
    );
    const written: Record<string, number> = {};
    let total = 0;
    if (range.low === null || range.high === null) return { written, total };
    const chunk = this.config.bulkChunkSize;
    const link = this.urls.absolute('/');
    const state = newOutboxState(this.config);
    for (let from = Number(range.low); from <= Number(range.high); from += chunk) {
      const rows = await this.em.fork().transactional(async (em) => {
        const inserted = await em.getConnection().execute<Array<{ kind: string }>>(
          insertOutboxSql(dueMessages('m.id between ? and ?'), this.config),
          // The outbox state comes first: it stands in the INSERT's select list, before the source.
          [state, link, from, from + chunk - 1, now, now, now, now],
          'all',
          em.getTransactionContext(),
        );
        if (inserted.length > 0) await this.outbox.wake(em);
        return inserted;
      });
      for (const row of rows) {
        written[row.kind] = (written[row.kind] ?? 0) + 1;
        total++;
      }
    }
    return { written, total };
  }
}
