import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { endOfDay } from '../common/time-zone';
import { EntityManager } from '@mikro-orm/postgresql';
import { PageQuery } from '../common/keyset';
import { KeysetPage, readKeysetPage } from '../common/listing';
import { isUniqueViolation, RuleError } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { formatDate, plural } from '../common/view-helpers';
import { JobRequests } from '../jobs/job-requests.service';
import type { PeriodUnit } from '../certifications/certifications.dto';
import { sql, SqlRunner } from '../database/sql';
import type { AssignmentInput, AssignmentKind, DueEvent, DueRule, DueRuleInput } from './assignments.dto';
import { Assignment } from './assignment.entity';

export interface AssignmentRow {
  id: number;
  kind: AssignmentKind;
  learnerId: number | null;
  learnerName: string | null;
  learnerIdNumber: string | null;
  audienceId: number | null;
  audienceName: string | null;
  dueRule: DueRule;
  dueFixedAt: Date | null;
  dueAmount: number | null;
  dueUnit: PeriodUnit | null;
  dueEvent: DueEvent | null;
  dueCourseId: number | null;
  dueCourseShortName: string | null;
  covers: number;
}

export interface MembershipSummary {
  total: number;
  assigned: number;
  withExceptions: number;
  notAssigned: number;
  dismissed: number;
}

const EVENT_WORDS: Record<DueEvent, string> = {
  assignment: 'assignment date',
  hire: 'hire date',
  first_login: 'first login',
  course_completion: 'completion of course',
};

/** A due date rule in words: "None", "Fixed: 31 Mar 2027" (in the reader's zone), "3 months after hire date". */
export function dueRuleText(
  rule: Pick<AssignmentRow, 'dueRule' | 'dueFixedAt' | 'dueAmount' | 'dueUnit' | 'dueEvent' | 'dueCourseShortName'>,
  zone: string,
): string {
  if (rule.dueRule === 'fixed') return `Fixed: ${formatDate(rule.dueFixedAt, zone)}`;
  if (rule.dueRule === 'relative' && rule.dueAmount && rule.dueUnit && rule.dueEvent) {
    const event = rule.dueEvent === 'course_completion' ? `completion of course «${rule.dueCourseShortName}»` : EVENT_WORDS[rule.dueEvent];
    return `${plural(rule.dueAmount, rule.dueUnit)} after ${event}`;
  }
  return 'None';
}

/** "N learners: A assigned, E with exceptions", plus not assigned and dismissed when there are any. */
export function summaryText(s: MembershipSummary): string {
  const parts = [`${s.assigned} assigned`, `${s.withExceptions} with exceptions`];
  if (s.notAssigned > 0) parts.push(`${s.notAssigned} not assigned`);
  if (s.dismissed > 0) parts.push(`${s.dismissed} dismissed`);
  return `${plural(s.total, 'learner')}: ${parts.join(', ')}`;
}

const ASSIGNMENT_SELECT = sql`select a.id, a.kind,
       l.id as "learnerId", l.first_name || ' ' || l.last_name as "learnerName", l.id_number as "learnerIdNumber",
       au.id as "audienceId", au.name as "audienceName",
       a.due_rule as "dueRule", a.due_fixed_at as "dueFixedAt", a.due_amount as "dueAmount", a.due_unit as "dueUnit",
       a.due_event as "dueEvent", a.due_course_id as "dueCourseId", c.short_name as "dueCourseShortName",
       case when a.kind = 'learner' then 1
            else (select count(*) from audience_member am where am.audience_id = a.audience_id)::int end as covers
  from assignment a
  left join learner l on l.id = a.learner_id
  left join audience au on au.id = a.audience_id
  left join course c on c.id = a.due_course_id`;

/** The assignments of a certification: how learners reach it, and with which due date rule. */
@Injectable()
export class AssignmentService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.db = new SqlRunner(em);
  }

  list(certificationId: number, page: PageQuery): Promise<KeysetPage<AssignmentRow>> {
    return readKeysetPage<AssignmentRow>(this.db, {
      select: (keyset) => sql`${ASSIGNMENT_SELECT}
        where a.certification_id = ${certificationId} and ${keyset.where}
        order by ${keyset.orderBy}`,
      keyColumns: ['a.id'],
      direction: 'asc',
      page,
      keyOf: (row) => [row.id],
      hrefFor: (param) => this.urls.withQuery(`/certifications/${certificationId}/assignments`, param),
    });
  }

  /** Counts of the certification's current memberships by exception status. */
  async summary(certificationId: number): Promise<MembershipSummary> {
    const row = await this.db.one<MembershipSummary>(
      sql`select count(*)::int as total,
              count(*) filter (where exception_status in ('none', 'assigned', 'assigned_realistic'))::int as assigned,
              count(*) filter (where exception_status = 'open')::int as "withExceptions",
              count(*) filter (where exception_status = 'not_assigned')::int as "notAssigned",
              count(*) filter (where exception_status = 'dismissed')::int as dismissed
         from membership
        where certification_id = ${certificationId} and removed_at is null`,
    );
    return row!;
  }

  audienceOptions(): Promise<Array<{ id: number; name: string }>> {
    return this.db.rows<{ id: number; name: string }>(sql`select id, name from audience order by lower(name), id`);
  }

  /** Adds an assignment (refusing a learner or audience already assigned), then asks for a sync. */
  async add(certificationId: number, input: AssignmentInput, staffId: number): Promise<void> {
    const learnerId = await this.checkedLearnerId(input);
    // A fork, so that a refused insert leaves nothing behind in the request's unit of work.
    const em = this.em.fork();
    const assignment = em.create(Assignment, {
      certificationId,
      kind: input.kind,
      learnerId,
      audienceId: input.audienceId,
      createdBy: staffId,
      ...dueRuleFields(input, this.config.siteTimeZone),
    });
    try {
      await em.persist(assignment).flush();
    } catch (error) {
      if (isUniqueViolation(error)) throw alreadyAssigned(input);
      throw error;
    }
    await this.jobs.requestSync(certificationId, 'assignment added');
  }

  /** One assignment of this certification; 404 when it is not one of this certification's. */
  async get(certificationId: number, assignmentId: number): Promise<AssignmentRow> {
    const row = await this.db.one<AssignmentRow>(
      sql`${ASSIGNMENT_SELECT} where a.id = ${assignmentId} and a.certification_id = ${certificationId}`,
    );
    if (!row) throw new NotFoundException();
    return row;
  }

  /**
   * Changes the due date rule in place; who is assigned and the memberships stay. The sync then
   * works out the due dates: a later one re-checks open and not-assigned memberships, and none is
   * ever reduced.
   */
  async changeDueRule(certificationId: number, assignmentId: number, input: DueRuleInput): Promise<void> {
    await this.checkDueCourse(input);
    const assignment = await this.em.findOne(Assignment, { id: assignmentId, certificationId });
    if (!assignment) throw new NotFoundException();
    this.em.assign(assignment, dueRuleFields(input, this.config.siteTimeZone));
    await this.em.flush();
    await this.jobs.requestSync(certificationId, 'assignment changed');
  }

  /**
   * A completion of one of these courses may give a learner the due date that a rule "N after
   * completing course X" waits for: the certifications with such a rule are synced at once, so that
   * their completion time unknown exceptions are re-checked without waiting for the hourly sync.
   */
  async requestSyncsAfterCompletions(courseIds: number[], reason: string): Promise<void> {
    if (courseIds.length === 0) return;
    const rows = await this.db.rows<{ id: number }>(
      sql`select distinct certification_id as id from assignment
        where due_rule = 'relative' and due_event = 'course_completion' and due_course_id = any(${courseIds}::int[])
        order by 1`,
    );
    for (const row of rows) await this.jobs.requestSync(row.id, reason);
  }

  /**
   * The checks of a new assignment that Save and its preview share: the learner or audience and the
   * due rule's course exist. The learner's id, or null for an audience.
   */
  async checkedLearnerId(input: AssignmentInput): Promise<number | null> {
    let learnerId: number | null = null;
    if (input.kind === 'learner') {
      const learner = await this.db.one<{ id: number }>(sql`select id from learner where id_number = ${input.learnerIdNumber}`);
      if (!learner) throw new RuleError('learnerIdNumber', 'There is no learner with this ID number');
      learnerId = learner.id;
    } else {
      const audience = await this.db.one<{ id: number }>(sql`select id from audience where id = ${input.audienceId}`);
      if (!audience) throw new RuleError('audienceId', 'Choose an audience from the list');
    }
    await this.checkDueCourse(input);
    return learnerId;
  }

  async checkDueCourse(input: DueRuleInput) {
    if (input.dueCourseId === null) return;
    const course = await this.db.one<{ id: number }>(sql`select id from course where id = ${input.dueCourseId}`);
    if (!course) throw new RuleError('dueCourseId', 'Choose a course from the list');
  }

  /**
   * Deletes the assignment (its membership sources go with it); the sync removes the memberships.
   * False when it was already removed; an assignment of another certification is not found here.
   */
  async remove(certificationId: number, assignmentId: number): Promise<boolean> {
    const assignment = await this.em.findOne(Assignment, { id: assignmentId });
    if (!assignment) return false;
    if (assignment.certificationId !== certificationId) throw new NotFoundException();
    const removed = await this.em.nativeDelete(Assignment, { id: assignmentId, certificationId });
    if (removed === 0) return false;
    await this.jobs.requestSync(certificationId, 'assignment removed');
    return true;
  }
}

/** The columns of a due date rule; a fixed date is the end of that day in the site's zone. */
/** The refusal of a learner or audience the certification already assigns. */
export function alreadyAssigned(input: AssignmentInput): RuleError {
  return input.kind === 'learner'
    ? new RuleError('learnerIdNumber', 'This learner is already assigned to this certification')
    : new RuleError('audienceId', 'This audience is already assigned to this certification');
}

export function dueRuleFields(input: DueRuleInput, siteZone: string) {
  return {
    dueRule: input.dueRule,
    dueFixedAt: input.dueDate === null ? null : endOfDay(input.dueDate, siteZone),
    dueAmount: input.dueAmount,
    dueUnit: input.dueUnit,
    dueEvent: input.dueEvent,
    dueCourseId: input.dueCourseId,
  };
}
