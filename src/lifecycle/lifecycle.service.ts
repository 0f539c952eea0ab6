import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { inTransaction, Sql, sql } from '../database/sql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { addPeriodSql } from './period';

export interface CompletionCheckResult {
  certified: number;
  /** Memberships certified by this check. */
  membershipIds: number[];
}

export interface StepsResult {
  windowOpened: number;
  expired: number;
}

interface IdRow {
  id: number;
}

/**
 * One scheduled step: moves the memberships `where` selects with `set` (not while an exception is
 * open or the membership is not assigned or exempt), and writes each moved one's history row once.
 */
function stepSql(step: { set: Sql; where: Sql; history: { path: string; state: string; event: string } }): Sql {
  const { path, state, event } = step.history;
  return sql`with moved as (
     update membership set ${step.set}
      where removed_at is null and ${step.where}
        and exception_status not in ('open', 'not_assigned', 'exempt')
     returning id, cycle, certified_at, expires_at
   ), history as (
     insert into membership_history (membership_id, cycle, path, state, certified_at, expires_at, event)
     select id, cycle, ${path}, ${state}, certified_at, expires_at, ${event} from moved
     on conflict (membership_id, cycle, event) do nothing
   )
   select id from moved`;
}

/**
 * The certification lifecycle (DOMAIN.md §6), set-based. Every UPDATE is guarded by the state it
 * expects, so a job that runs twice changes nothing the second time.
 */
@Injectable()
export class LifecycleService {
  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Certifies memberships whose current path is complete. Only assigned memberships count: an
   * open exception or "not assigned" is not processed, and a dismissed one (completion not
   * recorded) is never certified. On the recertification path and after an expiry only
   * completions since the path started count.
   */
  @CreateRequestContext()
  async completionCheck(learnerIds: number[] | null): Promise<CompletionCheckResult> {
    if (learnerIds && learnerIds.length === 0) return { certified: 0, membershipIds: [] };
    const learnerFilter = learnerIds
      ? sql`and m.learner_id in (select value::int from jsonb_array_elements_text(${JSON.stringify(learnerIds)}::jsonb))`
      : sql``;
    const expires = addPeriodSql(
      `case when cert.recertification_base = 'expiry' and m.state = 'window_open' and m.expires_at is not null
                 and p.certified_at <= m.expires_at
            then m.expires_at else p.certified_at end`,
      'cert.active_period_amount',
      'cert.active_period_unit',
      this.config.siteTimeZone,
    );
    const windowOpens = addPeriodSql('c.expires_at', 'c.window_period_amount', 'c.window_period_unit', this.config.siteTimeZone, '-');
    return inTransaction(this.em, async (db) => {
      const rows = await db.rows<IdRow>(
        sql`with candidate as (
           select m.id, m.learner_id, m.certification_id, m.current_path, m.state, m.path_started_at
             from membership m
            where m.removed_at is null and m.completion_recorded
              and m.exception_status in ('none', 'assigned', 'assigned_realistic')
              and m.state in ('not_certified', 'window_open', 'expired')
              ${learnerFilter}
         ), path_set as (
           -- Sets joined by OR form one group: a new group starts after every AND/THEN joiner.
           select s.id, s.certification_id, s.path, s.completion_rule,
                  sum(s.starts_group) over (partition by s.certification_id, s.path order by s.position) as grp
             from (select cs.*, case when lag(cs.joiner) over (partition by cs.certification_id, cs.path order by cs.position) = 'or'
                                     then 0 else 1 end as starts_group
                     from course_set cs
                    where cs.certification_id in (select certification_id from candidate)) s
         ), course_done as (
           select c.id as membership_id, ps.id as set_id, ps.grp, ps.completion_rule,
                  (select max(cc.completed_at) from course_completion cc
                    where cc.learner_id = c.learner_id and cc.course_id = csc.course_id
                      and (c.state = 'not_certified' or cc.completed_at >= c.path_started_at)) as done_at
             from candidate c
             join path_set ps on ps.certification_id = c.certification_id and ps.path = c.current_path
             join course_set_course csc on csc.course_set_id = ps.id
         ), set_done as (
           select membership_id, set_id, grp,
                  case completion_rule when 'all' then bool_and(done_at is not null) else bool_or(done_at is not null) end as done,
                  max(done_at) as done_at
             from course_done group by membership_id, set_id, grp, completion_rule
         ), group_done as (
           select membership_id, grp, bool_or(done) as done, max(done_at) filter (where done) as done_at
             from set_done group by membership_id, grp
         ), complete as (
           select gd.membership_id, max(gd.done_at) as certified_at
             from group_done gd group by gd.membership_id
           having bool_and(gd.done)
              -- every group of the path must have sets with courses (an empty set never completes)
              and count(*) = (select count(distinct ps.grp) from path_set ps
                                join candidate c on c.id = gd.membership_id
                               where ps.certification_id = c.certification_id and ps.path = c.current_path)
         ), computed as (
           select m.id, p.certified_at, ${expires} as expires_at, cert.window_period_amount, cert.window_period_unit
             from complete p
             join membership m on m.id = p.membership_id
             join certification cert on cert.id = m.certification_id
         ), x as (
           select c.*, ${windowOpens} as window_opens_at from computed c
         ), certified as (
           update membership m
              set state = 'certified', certified_at = x.certified_at, expires_at = x.expires_at, window_opens_at = x.window_opens_at
             from x
            where m.id = x.id and m.state in ('not_certified', 'window_open', 'expired') and m.removed_at is null
              and m.exception_status in ('none', 'assigned', 'assigned_realistic') and m.completion_recorded
           returning m.id, m.cycle, m.current_path, m.certified_at, m.expires_at
         ), history as (
           insert into membership_history (membership_id, cycle, path, state, certified_at, expires_at, event)
           select id, cycle, current_path, 'certified', certified_at, expires_at, 'certified' from certified
           on conflict (membership_id, cycle, event) do nothing
         )
         select id from certified order by id`,
      );
      return { certified: rows.length, membershipIds: rows.map((r) => r.id) };
    });
  }

  /**
   * The scheduled steps, each applied once: a certified membership whose window has opened moves
   * to the recertification path (progress reset, next cycle); a certified or window-open one
   * whose expiry has passed becomes expired and moves back to the certification path.
   */
  @CreateRequestContext()
  async runSteps(now: Date = new Date()): Promise<StepsResult> {
    return inTransaction(this.em, async (db) => {
      const opened = await db.rows<IdRow>(
        stepSql({
          set: sql`state = 'window_open', current_path = 'recertification', path_started_at = ${now},
                   cycle = cycle + 1, due_at = expires_at`,
          where: sql`state = 'certified' and window_opens_at <= ${now}`,
          history: { path: 'recertification', state: 'window_open', event: 'window_opened' },
        }),
      );
      const expired = await db.rows<IdRow>(
        stepSql({
          set: sql`state = 'expired', current_path = 'certification', path_started_at = ${now}`,
          where: sql`state in ('certified', 'window_open') and expires_at <= ${now}`,
          history: { path: 'certification', state: 'expired', event: 'expired' },
        }),
      );
      return { windowOpened: opened.length, expired: expired.length };
    });
  }
}
