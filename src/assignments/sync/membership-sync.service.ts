import { Inject, Injectable, Logger } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { addPeriodSql, addPeriodToDateSql, daysLeftSql } from '../../lifecycle/period';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { AdminNoticeOutcome, AdminNoticeService } from '../../notifications/admin-notice.service';
import { CourseSetsService } from '../../certifications/course-sets.service';
import { JobRequests } from '../../jobs/job-requests.service';
import { inTransaction, Sql, sql, SqlRunner } from '../../database/sql';
import { lockCertification } from '../../database/locks';
import { ExceptionType } from '../../exceptions/exception-rules';
import { ExceptionPolicyHandler } from './exception-policy-handler';
import { dropProblemsOfExemptLearners, exemptNewMembersOfExemptLearners } from '../../exemptions/exemption-sql';

export interface SyncStats {
  certificationId: number;
  added: number;
  removed: number;
  due_updated: number;
  rechecked: number;
  /** Open exceptions re-checked because their cause may have changed (content, other certifications, completions). */
  rechecked_open: number;
  exceptions_raised: Partial<Record<ExceptionType, number>>;
  exceptions_updated: number;
  exceptions_resolved: number;
  /** Raised exceptions the certification's exception policy handled at once (counted in exceptions_raised too). */
  exceptions_handled_by_policy: number;
  sources_added: number;
  sources_removed: number;
}

export interface SyncResult {
  stats: SyncStats;
  /** The sync_run row of this run; every exception it raised carries it (exception.sync_run_id). */
  syncRunId: number;
  /** Transactions the learners were handled in (one per chunk of SYNC_CHUNK_SIZE learners). */
  chunks: number;
  /** The administrators' notice of the exceptions this run raised. */
  notice: AdminNoticeOutcome;
}

/** A chunk's learners: learner ids above `after`, up to and including `through`. */
interface LearnerRange {
  after: number;
  through: number;
}

const LAST_LEARNER_ID = 2147483647;

/** A learner's sort key as the learner triggers keep it on memberships and exceptions (learner `l`). */
const LEARNER_SORT_NAME = sql.raw(`lower(l.last_name || ' ' || l.first_name)`);
/** A learner's search text as the learner triggers keep it on exceptions (learner `l`). */
const LEARNER_SEARCH = sql.raw(`lower(l.first_name || ' ' || l.last_name || ' ' || l.id_number)`);

type ChunkStats = Omit<SyncStats, 'certificationId'>;

/** One certification's sync as a preview ran it, still inside the preview's transaction. */
export interface SyncPreviewStep {
  certificationId: number;
  /** The run id the raised exceptions carry (exception.sync_run_id); the row is rolled back with the rest. */
  syncRunId: number;
  stats: ChunkStats;
  /** Synced because learners joined or left a certification sharing a course with it, as a real run asks for next. */
  knockOn: boolean;
}

/** Thrown to roll a preview's transaction back, carrying what it read. */
class PreviewRollback<T> extends Error {
  constructor(readonly results: T[]) {
    super('preview rolled back');
  }
}

/**
 * Membership sync (DOMAIN.md §2): works out, set-based, which learners the assignments cover and
 * their due dates, adds, updates and removes memberships, and raises or re-checks exceptions.
 *
 * A certification's learners are handled in chunks of learner ids (SYNC_CHUNK_SIZE learners), each
 * chunk whole in one transaction under the certification's lock: every rule of the sync is about
 * one learner's memberships, so a chunk is complete on its own, and nothing of size n is held in
 * Node or in one transaction. The administrators' notice then finds in SQL what the run raised.
 */
@Injectable()
export class MembershipSyncService {
  private readonly logger = new Logger(MembershipSyncService.name);

  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly notices: AdminNoticeService,
    private readonly courseSets: CourseSetsService,
    private readonly jobs: JobRequests,
    private readonly policy: ExceptionPolicyHandler,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @CreateRequestContext()
  async syncAll(reason = 'schedule'): Promise<SyncResult[]> {
    const rows = await new SqlRunner(this.em).rows<{ id: number }>(sql`select id from certification order by id`);
    const results: SyncResult[] = [];
    for (const row of rows) {
      const result = await this.syncOne(this.em.fork(), row.id, reason);
      if (result) results.push(result);
    }
    return results;
  }

  /** Null when the certification no longer exists. */
  @CreateRequestContext()
  async syncCertification(certificationId: number, reason = 'requested'): Promise<SyncResult | null> {
    return this.syncOne(this.em, certificationId, reason);
  }

  /**
   * Syncs one certification; when learners joined or left it, the certifications sharing a course
   * with it are synced next, since their open duplicate course exceptions may depend on those
   * memberships. A sync that changes no membership asks for nothing, so the chain ends. A request
   * that cannot be queued (Redis away) is left to the hourly sync rather than failing this one,
   * whose work is committed.
   */
  private async syncOne(em: EntityManager, certificationId: number, reason: string): Promise<SyncResult | null> {
    const result = await this.syncInTransaction(em, certificationId, reason);
    if (result && result.stats.added + result.stats.removed > 0) {
      try {
        for (const other of await this.courseSets.sharingCourses(certificationId)) {
          await this.jobs.requestSync(other, 'memberships of a certification sharing a course changed');
        }
      } catch (error) {
        this.logger.warn({
          message: 'could not queue the syncs of certifications sharing a course',
          certificationId,
          error: String(error),
        });
      }
    }
    return result;
  }

  private async syncInTransaction(em: EntityManager, certificationId: number, reason: string): Promise<SyncResult | null> {
    const id = certificationId;
    const start = await inTransaction(em, async (q) => {
      const exists = await q.one<{ id: number }>(sql`select id from certification where id = ${id}`);
      if (!exists) return null;
      const run = (await q.one<{ id: string }>(
        sql`insert into sync_run (certification_id, reason, started_at) values (${id}, ${reason.slice(0, 100)}, clock_timestamp()) returning id`,
      ))!;
      return { runId: Number(run.id), ranges: await this.chunkRanges(q, id) };
    });
    if (!start) return null;
    const { runId } = start;

    const total: ChunkStats = {
      added: 0,
      removed: 0,
      due_updated: 0,
      rechecked: 0,
      rechecked_open: 0,
      exceptions_raised: {},
      exceptions_updated: 0,
      exceptions_resolved: 0,
      exceptions_handled_by_policy: 0,
      sources_added: 0,
      sources_removed: 0,
    };
    for (const range of start.ranges) {
      const chunk = await inTransaction(em.fork(), (q, tem) => this.syncChunk(q, tem, id, runId, range));
      if (!chunk) return null;
      addStats(total, chunk);
    }
    const chunks = start.ranges.length;

    const stats: SyncStats = { certificationId: id, ...total };
    return inTransaction(em.fork(), async (q, tem) => {
      await lockCertification(q, id);
      await q.run(sql`update sync_run set finished_at = clock_timestamp(), stats = ${JSON.stringify({ ...stats, chunks })}::jsonb
                       where id = ${runId}`);
      // The notice finds what the run raised by its sync_run id (and what an earlier run that
      // stopped between its chunks raised), and commits with the run's end.
      const notice = await this.notices.notifyInTransaction(tem, id, runId);
      return { stats, syncRunId: runId, chunks, notice };
    });
  }

  /**
   * What membership sync would do after `change`, by the sync's own statements, changing nothing:
   * in one transaction `change` is made and names the certifications to sync; each is synced whole
   * (one range, under its lock) in ascending id order as a run of every certification would take
   * them, then the certifications sharing a course with one whose learners joined or left, as a
   * real run queues them next; `read` reads each outcome before the next; then everything is
   * rolled back. No job, notice, mail or sync_run is left behind (only sequences move on).
   */
  async preview<T>(change: (q: SqlRunner) => Promise<number[]>, read: (q: SqlRunner, step: SyncPreviewStep) => Promise<T>): Promise<T[]> {
    try {
      await inTransaction(this.em.fork(), async (q, tem) => {
        const results: T[] = [];
        const done = new Set<number>();
        const step = async (certificationId: number, knockOn: boolean) => {
          done.add(certificationId);
          const run = (await q.one<{ id: string }>(
            sql`insert into sync_run (certification_id, reason, started_at) values (${certificationId}, 'preview', clock_timestamp()) returning id`,
          ))!;
          const syncRunId = Number(run.id);
          const stats = await this.syncChunk(q, tem, certificationId, syncRunId, { after: 0, through: LAST_LEARNER_ID });
          if (!stats) return null;
          results.push(await read(q, { certificationId, syncRunId, stats, knockOn }));
          await q.run(sql`drop table sync_cover, sync_target, sync_check, sync_problem, sync_member`);
          return stats;
        };
        const moved: number[] = [];
        for (const id of [...new Set(await change(q))].sort((a, b) => a - b)) {
          const stats = await step(id, false);
          if (stats && stats.added + stats.removed > 0) moved.push(id);
        }
        const knockOn = new Set<number>();
        for (const id of moved) for (const other of await this.courseSets.sharingCourses(id, q)) knockOn.add(other);
        for (const other of [...knockOn].sort((a, b) => a - b)) if (!done.has(other)) await step(other, true);
        throw new PreviewRollback(results);
      });
    } catch (error) {
      if (error instanceof PreviewRollback) return error.results as T[];
      throw error;
    }
    throw new Error('a preview must roll back');
  }

  /**
   * The run's chunks: a certification whose members and covered learners fit in one chunk is one
   * range (every learner id); a larger one is cut at every `size`-th of its learner ids, members
   * and covered learners together (a few numbers per million learners). The ranges cover every id,
   * so a learner who joins or leaves meanwhile still falls in exactly one of them.
   */
  private async chunkRanges(q: SqlRunner, id: number): Promise<LearnerRange[]> {
    const size = this.config.syncChunkSize;
    const [{ n }] = await q.rows<{ n: string }>(sql`select
         coalesce((select sum(n) from membership_state_count where certification_id = ${id}), 0)
         + (select count(*) from assignment a where a.certification_id = ${id} and a.kind = 'learner')
         + (select count(*) from assignment a join audience_member am on am.audience_id = a.audience_id
             where a.certification_id = ${id} and a.kind = 'audience') as n`);
    if (Number(n) <= size) return [{ after: 0, through: LAST_LEARNER_ID }];
    const cuts = await q.rows<{ learner_id: number }>(sql`select learner_id from (
         select learner_id, row_number() over (order by learner_id) as n from (
           select m.learner_id from membership m where m.certification_id = ${id} and m.removed_at is null
           union
           select a.learner_id from assignment a where a.certification_id = ${id} and a.kind = 'learner'
           union
           select am.learner_id from assignment a join audience_member am on am.audience_id = a.audience_id
            where a.certification_id = ${id} and a.kind = 'audience'
         ) learners
       ) numbered
       where n % ${size} = 0 order by learner_id`);
    const ranges: LearnerRange[] = [];
    let after = 0;
    for (const { learner_id } of cuts) {
      ranges.push({ after, through: learner_id });
      after = learner_id;
    }
    ranges.push({ after, through: LAST_LEARNER_ID });
    return ranges;
  }

  /** One chunk of the certification's learners, in the caller's transaction. Null when the certification is gone. */
  private async syncChunk(q: SqlRunner, tem: EntityManager, id: number, runId: number, range: LearnerRange): Promise<ChunkStats | null> {
    // Two workers never sync the same learners of a certification at once, nor while a bulk action changes it.
    await lockCertification(q, id);
    const exists = await q.one<{ id: number }>(sql`select id from certification where id = ${id}`);
    if (!exists) return null;

    await this.buildCover(q, id, range);
    const removal = (await this.removeUncovered(q, id, range))!;
    const growth = (await this.growDueDates(q, id, range))!;
    const openRechecks = (await this.recheckOpen(q, id, range))!;
    await q.run(sql`insert into sync_check (learner_id, membership_id, kind, due_at, due_status, unknown_assignment_id, path)
       select t.learner_id, null, 'new', t.due_at, t.due_status, t.unknown_assignment_id, 'certification'
         from sync_target t
        where not exists (select 1 from membership m
                           where m.certification_id = ${id} and m.learner_id = t.learner_id and m.removed_at is null
                             and ${inRange('m.learner_id', range)})`);
    await q.run(sql`analyze sync_check`);
    await this.detectProblems(q, id, range);
    await dropProblemsOfExemptLearners(q, id);
    const applied = await this.applyChecks(q, tem, id, runId, range);
    await exemptNewMembersOfExemptLearners(q, id);
    const sources = await this.syncSources(q);
    return {
      added: applied.added,
      removed: Number(removal.removed),
      due_updated: Number(growth.due_updated),
      rechecked: Number(growth.rechecked),
      rechecked_open: Number(openRechecks.rechecked),
      exceptions_raised: applied.raised,
      exceptions_updated: applied.updated,
      exceptions_resolved: applied.resolved + Number(removal.closed),
      exceptions_handled_by_policy: applied.byPolicy,
      sources_added: sources.added,
      sources_removed: sources.removed,
    };
  }

  /**
   * sync_cover: one row per (learner, covering assignment) with that assignment's due date;
   * sync_target: one row per learner with the latest known due date (or unknown / none); both for
   * the learners of `range`.
   */
  private async buildCover(q: SqlRunner, id: number, range: LearnerRange) {
    // Day and month arithmetic on the site zone's calendar. A due date counted from a date (the
    // hire date) is the end of that day, as a fixed due date typed as a date is.
    const zone = this.config.siteTimeZone;
    const relativeDue = sql`case c.due_event
        when 'assignment' then ${addPeriodSql('coalesce(m.added_at, now())', 'c.due_amount', 'c.due_unit', zone)}
        when 'hire' then ${addPeriodToDateSql('l.hire_date', 'c.due_amount', 'c.due_unit', zone)}
        when 'first_login' then ${addPeriodSql('l.first_login_at', 'c.due_amount', 'c.due_unit', zone)}
        when 'course_completion' then ${addPeriodSql(
          `(select max(cc.completed_at) from course_completion cc
             where cc.learner_id = c.learner_id and cc.course_id = c.due_course_id)`,
          'c.due_amount',
          'c.due_unit',
          zone,
        )}
      end`;
    await q.run(sql`create temp table sync_cover on commit drop as
       with covered as (
         select a.id as assignment_id, a.learner_id, a.due_rule, a.due_fixed_at, a.due_amount, a.due_unit, a.due_event, a.due_course_id
           from assignment a where a.certification_id = ${id} and a.kind = 'learner' and ${inRange('a.learner_id', range)}
         union all
         select a.id, am.learner_id, a.due_rule, a.due_fixed_at, a.due_amount, a.due_unit, a.due_event, a.due_course_id
           from assignment a join audience_member am on am.audience_id = a.audience_id
          where a.certification_id = ${id} and a.kind = 'audience' and ${inRange('am.learner_id', range)}
       )
       select c.learner_id, c.assignment_id, c.due_rule,
              (c.due_rule = 'relative' and c.due_event = 'first_login' and l.first_login_at is null) as future,
              case c.due_rule when 'fixed' then c.due_fixed_at when 'relative' then ${relativeDue} end as due_at
         from covered c
         join learner l on l.id = c.learner_id and ${inRange('l.id', range)}
         left join membership m on m.certification_id = ${id} and m.learner_id = c.learner_id and m.removed_at is null
                               and ${inRange('m.learner_id', range)}`);
    await q.run(sql`create index on sync_cover (learner_id, assignment_id)`);
    await q.run(sql`analyze sync_cover`);
    await q.run(sql`create temp table sync_target on commit drop as
       select learner_id,
              max(due_at) as due_at,
              case when count(due_at) > 0 then 'known' when bool_or(due_rule <> 'none') then 'unknown' else 'none' end as due_status,
              min(assignment_id) filter (where due_rule <> 'none' and due_at is null) as unknown_assignment_id
         from sync_cover where not future group by learner_id`);
    await q.run(sql`create unique index on sync_target (learner_id)`);
    await q.run(sql`analyze sync_target`);
    await q.run(sql`create temp table sync_check (
         learner_id integer primary key, membership_id integer, kind text not null,
         due_at timestamptz, due_status text not null, unknown_assignment_id integer, path text not null
       ) on commit drop`);
  }

  /** Learners no longer covered leave; the row stays as history and its open exception is closed. */
  private removeUncovered(q: SqlRunner, id: number, range: LearnerRange) {
    return q.one<{ removed: string; closed: string }>(sql`with removed as (
         update membership m set removed_at = now()
          where m.certification_id = ${id} and m.removed_at is null and ${inRange('m.learner_id', range)}
            and not exists (select 1 from sync_target t where t.learner_id = m.learner_id)
         returning m.id
       ), closed as (
         update exception e set status = 'resolved', handled_at = now(), reason = 'No longer assigned to the certification'
           from removed r where e.membership_id = r.id and e.status = 'open'
         returning e.id
       )
       select (select count(*) from removed) as removed, (select count(*) from closed) as closed`);
  }

  /**
   * A due date only grows. Memberships whose due date grew are re-checked when their exception is
   * open or not assigned and they are not certified, window open or expired.
   */
  private growDueDates(q: SqlRunner, id: number, range: LearnerRange) {
    return q.one<{ due_updated: string; rechecked: string }>(sql`with grown as (
         update membership m set due_at = t.due_at
           from sync_target t
          where m.certification_id = ${id} and m.removed_at is null and m.learner_id = t.learner_id
            and ${inRange('m.learner_id', range)}
            and t.due_status = 'known' and (m.due_at is null or t.due_at > m.due_at)
         returning m.id, m.learner_id, m.exception_status, m.state, m.due_at, m.current_path
       ), rechecks as (
         insert into sync_check (learner_id, membership_id, kind, due_at, due_status, unknown_assignment_id, path)
         select learner_id, id, case exception_status when 'open' then 'recheck_open' else 'recheck_not_assigned' end,
                due_at, 'known', null, current_path
           from grown
          where exception_status in ('open', 'not_assigned') and state not in ('certified', 'window_open', 'expired')
         returning 1
       )
       select (select count(*) from grown) as due_updated, (select count(*) from rechecks) as rechecked`);
  }

  /**
   * Every other open exception is re-checked too, with the membership's current due date: its
   * cause may have gone or changed since it was raised (the certification's content or minimum
   * time, another certification's content or memberships, a completion a due date counts from).
   * An unknown cause, brought in by import, cannot be checked again and stays as it is.
   */
  private recheckOpen(q: SqlRunner, id: number, range: LearnerRange) {
    return q.one<{ rechecked: string }>(sql`with rechecks as (
         insert into sync_check (learner_id, membership_id, kind, due_at, due_status, unknown_assignment_id, path)
         select m.learner_id, m.id, 'recheck_open', m.due_at,
                case when m.due_at is not null then 'known' else t.due_status end,
                t.unknown_assignment_id, m.current_path
           from membership m
           join exception e on e.membership_id = m.id and e.status = 'open'
           join sync_target t on t.learner_id = m.learner_id
          where m.certification_id = ${id} and m.removed_at is null and ${inRange('m.learner_id', range)}
            and m.state not in ('certified', 'window_open', 'expired')
            and e.certification_id = ${id} and e.type <> 'unknown'
         on conflict (learner_id) do nothing
         returning 1
       )
       select count(*) as rechecked from rechecks`);
  }

  /** sync_problem: the first matching check per learner, in the order duplicate → unknown → time allowance. */
  private async detectProblems(q: SqlRunner, id: number, range: LearnerRange) {
    // Whole days left on the site zone's calendar (a 23- or 25-hour day counts as one).
    const zone = this.config.siteTimeZone;
    const daysLeft = daysLeftSql(sql.raw('k.due_at'), sql.raw('now()'), zone);
    await q.run(sql`create temp table sync_problem on commit drop as
       with overlap as (
         select mine.path as this_path, other.certification_id as other_id, other.path as other_path,
                array_agg(distinct c.short_name order by c.short_name) as names,
                array_agg(distinct c.full_name order by c.full_name) as full_names
           from course_set mine
           join course_set_course a on a.course_set_id = mine.id
           join course_set_course b on b.course_id = a.course_id
           join course_set other on other.id = b.course_set_id and other.certification_id <> mine.certification_id
           join course c on c.id = a.course_id
          where mine.certification_id = ${id}
          group by 1, 2, 3
       ), duplicate as (
         select distinct on (k.learner_id) k.learner_id, o.other_id, oc.full_name as other_name, o.names, o.full_names
           from sync_check k
           join membership m2 on m2.learner_id = k.learner_id and m2.removed_at is null and m2.certification_id <> ${id}
                              and ${inRange('m2.learner_id', range)}
           join overlap o on o.other_id = m2.certification_id and o.other_path = m2.current_path and o.this_path = k.path
           join certification oc on oc.id = o.other_id
          order by k.learner_id, o.other_id
       ), checked as (
         select k.learner_id, k.due_at, d.other_id, d.other_name, d.names, d.full_names,
                ua.due_amount, ua.due_unit, ua.due_event, uc.full_name as due_course_name,
                case k.path when 'recertification' then cert.recertification_min_days else cert.certification_min_days end as min_days,
                ${daysLeft} as days_left,
                case
                  when d.learner_id is not null then 'duplicate_course'
                  when k.due_status = 'unknown' and k.due_at is null then 'completion_time_unknown'
                  when k.due_at is not null and ${daysLeft} <
                       case k.path when 'recertification' then cert.recertification_min_days else cert.certification_min_days end
                    then 'time_allowance'
                end as type
           from sync_check k
           join certification cert on cert.id = ${id}
           left join duplicate d on d.learner_id = k.learner_id
           left join assignment ua on ua.id = k.unknown_assignment_id
           left join course uc on uc.id = ua.due_course_id
       ), worded as (
         select *,
                due_amount || ' ' || due_unit || case when due_amount = 1 then '' else 's' end || ' after ' ||
                  case due_event when 'hire' then 'hire date' when 'first_login' then 'first login'
                                 when 'course_completion' then 'completing ' || due_course_name else 'assignment' end as rule_words,
                case due_event when 'hire' then 'no hire date' when 'course_completion' then 'course not completed'
                               when 'first_login' then 'no first login' else 'date unknown' end as missing_words,
                case when days_left < 0 then 'overdue by ' || -days_left || case when days_left = -1 then ' day' else ' days' end
                     else days_left || case when days_left = 1 then ' day' else ' days' end || ' left' end as left_words
           from checked where type is not null
       )
       select learner_id, type,
              case type
                when 'duplicate_course' then jsonb_build_object('otherCertificationId', other_id, 'otherCertificationName', other_name, 'sharedCourses', to_jsonb(names), 'sharedCourseNames', to_jsonb(full_names))
                when 'completion_time_unknown' then jsonb_build_object('rule', rule_words, 'missing', missing_words)
                else jsonb_build_object('dueAt', due_at, 'minimumDays', min_days, 'daysLeft', days_left, 'shortfallDays', min_days - days_left)
              end as evidence,
              case type
                when 'duplicate_course' then 'Shares ' || array_to_string(full_names, ', ') || ' with «' || other_name || '»'
                when 'completion_time_unknown' then rule_words || ': ' || missing_words
                else 'Due ' || to_char(due_at at time zone ${zone}::text, 'FMDD Mon YYYY') || ': ' || left_words || ', ' ||
                     min_days || ' needed (' || (min_days - days_left) || ' short)'
              end as summary
         from worded`);
    await q.run(sql`create unique index on sync_problem (learner_id)`);
  }

  private async applyChecks(q: SqlRunner, tem: EntityManager, id: number, runId: number, range: LearnerRange) {
    // New memberships: assigned now unless a problem was found. The learner's sort keys are given
    // here, read in one join, rather than looked up row by row by the insert trigger.
    const added = await q.run(sql`insert into membership (certification_id, learner_id, due_at, added_at, assigned_at, exception_status,
                                                   path_started_at, learner_sort_name, learner_id_number)
         select ${id}, k.learner_id, k.due_at, now(),
                case when p.learner_id is null then now() end,
                case when p.learner_id is null then 'none' else 'open' end,
                now(), ${LEARNER_SORT_NAME}, l.id_number
           from sync_check k
           join learner l on l.id = k.learner_id and ${inRange('l.id', range)}
           left join sync_problem p on p.learner_id = k.learner_id
          where k.kind = 'new'`);
    // The range's active members, new ones included, for the exceptions and sources below.
    await q.run(sql`create temp table sync_member on commit drop as
       select m.id, m.learner_id from membership m
        where m.certification_id = ${id} and m.removed_at is null and ${inRange('m.learner_id', range)}`);
    await q.run(sql`create unique index on sync_member (learner_id)`);
    await q.run(sql`analyze sync_member`);

    const raisedRows = await q.rows<{ type: ExceptionType; n: number }>(sql`with raised as (
         insert into exception (membership_id, certification_id, learner_id, type, evidence, summary, sync_run_id,
                                learner_sort_name, learner_id_number, learner_search)
         select m.id, ${id}, k.learner_id, p.type, p.evidence, p.summary, ${runId}::bigint, ${LEARNER_SORT_NAME}, l.id_number,
                ${LEARNER_SEARCH}
           from sync_check k
           join sync_problem p on p.learner_id = k.learner_id
           join sync_member m on m.learner_id = k.learner_id
           join learner l on l.id = k.learner_id and ${inRange('l.id', range)}
          where k.kind in ('new', 'recheck_not_assigned')
         returning type
       )
       select type, count(*)::int as n from raised group by type`);

    // A not-assigned membership whose due date grew: a problem opens a new exception, none assigns it.
    await q.run(sql`update membership m
          set exception_status = case when p.learner_id is null then 'none' else 'open' end,
              assigned_at = case when p.learner_id is null then now() end
         from sync_check k left join sync_problem p on p.learner_id = k.learner_id
        where k.kind = 'recheck_not_assigned' and m.id = k.membership_id and m.exception_status = 'not_assigned'`);
    const byPolicy = await this.policy.handleRaised(q, tem, id, runId);

    // An open exception re-checked: still a problem → updated in place; none → resolved and assigned.
    // The days left in the evidence move every day; only a changed cause rewrites the row.
    const updated = await q.run(sql`update exception e set type = p.type, evidence = p.evidence, summary = p.summary
         from sync_check k join sync_problem p on p.learner_id = k.learner_id
        where k.kind = 'recheck_open' and e.membership_id = k.membership_id and e.status = 'open'
          and (e.type <> p.type or e.evidence - 'daysLeft' - 'shortfallDays' <> p.evidence - 'daysLeft' - 'shortfallDays')`);
    const resolved = await q.run(sql`with resolved as (
         update exception e set status = 'resolved', handled_at = now(), reason = 'Re-checked: the cause no longer applies'
           from sync_check k
          where k.kind = 'recheck_open' and e.membership_id = k.membership_id and e.status = 'open'
            and not exists (select 1 from sync_problem p where p.learner_id = k.learner_id)
         returning e.membership_id
       )
       update membership m set exception_status = 'none', assigned_at = now()
         from resolved r where m.id = r.membership_id and m.exception_status = 'open'`);

    const raised: Partial<Record<ExceptionType, number>> = {};
    for (const row of raisedRows) raised[row.type] = row.n;
    return { added: Number(added), raised, updated, resolved, byPolicy };
  }

  /**
   * membership_source: which assignments bring each active member of the range (a removed
   * membership keeps its rows). Both statements join sync_member, the range's members read once
   * (the membership table's statistics do not know yet the rows this transaction added, and a
   * join on it is planned as if there were none).
   */
  private async syncSources(q: SqlRunner) {
    const removed = await q.run(sql`delete from membership_source s using sync_member m
        where s.membership_id = m.id
          and not exists (select 1 from sync_cover c
                           where c.learner_id = m.learner_id and c.assignment_id = s.assignment_id and not c.future)`);
    const added = await q.run(sql`insert into membership_source (membership_id, assignment_id)
       select m.id, c.assignment_id
         from sync_cover c
         join sync_member m on m.learner_id = c.learner_id
        where not c.future
          and not exists (select 1 from membership_source s where s.membership_id = m.id and s.assignment_id = c.assignment_id)
       on conflict do nothing`);
    return { added, removed };
  }
}

/**
 * `column` (a learner id) in the chunk's range. Every large table a chunk's statement reads (learner,
 * membership, audience_member) is bounded by it, so that a chunk reads its own rows, never a
 * whole table (the planner hashes all of a table it cannot bound).
 */
function inRange(column: string, range: LearnerRange): Sql {
  return sql`${sql.raw(column)} > ${range.after} and ${sql.raw(column)} <= ${range.through}`;
}

function addStats(total: ChunkStats, chunk: ChunkStats): void {
  for (const key of Object.keys(total) as Array<keyof ChunkStats>) {
    if (key === 'exceptions_raised') {
      for (const [type, n] of Object.entries(chunk.exceptions_raised) as Array<[ExceptionType, number]>) {
        total.exceptions_raised[type] = (total.exceptions_raised[type] ?? 0) + n;
      }
    } else {
      total[key] += chunk[key];
    }
  }
}
