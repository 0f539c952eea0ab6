import { Injectable } from '@nestjs/common';
import { raw } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Direction } from '../common/keyset';
import { KeysetPage, likeContains, ListQuery, readKeysetPage } from '../common/listing';
import { insertUnique, UniqueField, updateUnique } from '../common/entity-save';
import { RuleError } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { sql, SqlRunner } from '../database/sql';
import { JobRequests } from '../jobs/job-requests.service';
import { AssignmentService } from '../assignments/assignment.service';
import { Course } from '../courses/course.entity';
import { handledBySql } from '../exceptions/action-effects';
import type { MembershipState } from '../assignments/membership.entity';
import type { ExceptionStatus } from '../reports/report-states';
import { parseLocalDateTime } from '../common/time-zone';
import { startOfDaySql } from '../lifecycle/period';
import { MESSAGES } from './learner-rules';
import { Learner } from './learner.entity';

/** A learner in the list, with its sort keys as PostgreSQL lowers them. */
export interface LearnerRow {
  id: number;
  id_number: string;
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  suspended: boolean;
  k_last: string;
  k_first: string;
}

export interface LearnerCertificationRow {
  id: number;
  full_name: string;
  state: MembershipState;
  due_at: string | null;
  exception_status: ExceptionStatus;
}

/**
 * A membership of a learner, once per exception it had (or once with nulls when it had none).
 * Timestamps in raw rows come as PostgreSQL writes them (the driver does not parse them).
 */
export interface MembershipHistoryRow {
  membership_id: number;
  certification_id: number;
  full_name: string;
  removed_at: string | null;
  exception_id: number | null;
  raised_at: string | null;
  type: string | null;
  status: string | null;
  handled_at: string | null;
  handled_by: string | null;
  reason: string | null;
}

export interface LearnerCompletionRow {
  id: number;
  short_name: string;
  full_name: string;
  completed_at: string;
  source: string;
  recorded_by: string | null;
}

/** Two people saving the same ID number or username at once: the unique indexes decide. */
const ID_UNIQUE: UniqueField = { field: 'idNumber', message: 'There is already a learner with this ID number or username' };

interface IdRow {
  id: number;
}

export interface LearnerInput {
  idNumber: string;
  username: string;
  firstName: string;
  lastName: string;
  email: string;
  hireDate: string;
  firstLogin: string;
  suspended: boolean;
}

export type LearnerSort = 'name' | 'idNumber';

const SORT_KEYS: Record<LearnerSort, { columns: string[]; keyOf: (row: LearnerRow) => Array<string | number> }> = {
  name: {
    columns: ['lower(last_name)', 'lower(first_name)', 'id'],
    keyOf: (row) => [row.k_last, row.k_first, row.id],
  },
  // id_number is unique; the id ends the key all the same, as every cursor's last value is an id.
  idNumber: { columns: ['id_number', 'id'], keyOf: (row) => [row.id_number, row.id] },
};

@Injectable()
export class LearnersService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly urls: UrlBuilder,
    private readonly assignments: AssignmentService,
  ) {
    this.db = new SqlRunner(em);
  }

  list(query: ListQuery & { sort: LearnerSort; dir: Direction }): Promise<KeysetPage<LearnerRow>> {
    const key = SORT_KEYS[query.sort];
    // The search expression is the one of the trigram index learner_search_trgm.
    const search = query.q ? sql`lower(first_name || ' ' || last_name || ' ' || id_number) like ${likeContains(query.q)}` : sql`true`;
    return readKeysetPage<LearnerRow>(this.db, {
      select: (keyset) => sql`select id, id_number, username, first_name, last_name, email, suspended,
                 lower(last_name) as k_last, lower(first_name) as k_first
               from learner where ${search} and ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: key.columns,
      direction: query.dir,
      page: query.page,
      keyOf: key.keyOf,
      hrefFor: (param) => this.urls.withQuery('/learners', { q: query.q, sort: query.sort, dir: query.dir, ...param }),
    });
  }

  get(id: number): Promise<Learner | null> {
    return this.em.findOne(Learner, id);
  }

  /** `zone`: the time zone the first login was typed in (the reader's). */
  async create(input: LearnerInput, zone: string): Promise<number> {
    const values = this.values(input, zone);
    await this.checkUnique(input, null);
    const learner = await insertUnique(this.em, Learner, { ...values, createdAt: new Date(), updatedAt: new Date() }, ID_UNIQUE);
    await this.jobs.requestSync(null, 'learner created');
    return learner.id;
  }

  async update(id: number, input: LearnerInput, zone: string): Promise<void> {
    const values = this.values(input, zone);
    await this.checkUnique(input, id);
    await updateUnique(this.em, Learner, id, { ...values, updatedAt: new Date() }, ID_UNIQUE);
    await this.jobs.requestSync(null, 'learner changed');
  }

  private values(input: LearnerInput, zone: string) {
    const firstLoginAt = input.firstLogin ? parseLocalDateTime(input.firstLogin, zone) : null;
    if (input.firstLogin && (firstLoginAt === null || firstLoginAt.getTime() > Date.now())) {
      throw new RuleError('firstLogin', MESSAGES.firstLogin);
    }
    return {
      idNumber: input.idNumber,
      username: input.username,
      firstName: input.firstName,
      lastName: input.lastName,
      email: input.email,
      hireDate: input.hireDate || null,
      firstLoginAt,
      suspended: input.suspended,
    };
  }

  private async checkUnique(input: LearnerInput, exceptId: number | null): Promise<void> {
    const clash = sql`(id_number = ${input.idNumber} or lower(username) = lower(${input.username})) and id is distinct from ${exceptId}`;
    const clashes = await this.em
      .createQueryBuilder(Learner)
      .select(['idNumber', 'username'])
      .where(clash.text, [...clash.params])
      .execute<Array<Pick<Learner, 'idNumber' | 'username'>>>('all');
    if (clashes.some((c) => c.idNumber === input.idNumber)) {
      throw new RuleError('idNumber', 'There is already a learner with this ID number');
    }
    if (clashes.length > 0) throw new RuleError('username', 'There is already a learner with this username');
  }

  certifications(learnerId: number): Promise<LearnerCertificationRow[]> {
    return this.db.rows<LearnerCertificationRow>(
      sql`select c.id, c.full_name, m.state, m.due_at, m.exception_status
            from membership m join certification c on c.id = m.certification_id
           where m.learner_id = ${learnerId} and m.removed_at is null
           order by lower(c.full_name), c.id`,
    );
  }

  /** Every membership of a learner (active and removed), each with its exceptions, newest first. */
  membershipHistory(learnerId: number): Promise<MembershipHistoryRow[]> {
    return this.db.rows<MembershipHistoryRow>(
      sql`select m.id as membership_id, c.id as certification_id, c.full_name, m.removed_at,
                 e.id as exception_id, e.raised_at, e.type, e.status, e.handled_at, ${handledBySql('e', 's.display_name')} as handled_by, e.reason
            from membership m
            join certification c on c.id = m.certification_id
            left join exception e on e.membership_id = m.id
            left join staff s on s.id = e.handled_by
           where m.learner_id = ${learnerId}
           order by (m.removed_at is not null), lower(c.full_name), m.id, e.raised_at desc, e.id desc`,
    );
  }

  completions(learnerId: number): Promise<LearnerCompletionRow[]> {
    return this.db.rows<LearnerCompletionRow>(
      sql`select cc.id, c.short_name, c.full_name, cc.completed_at, cc.source, s.display_name as recorded_by
            from course_completion cc
            join course c on c.id = cc.course_id
            left join staff s on s.id = cc.recorded_by
           where cc.learner_id = ${learnerId}
           order by cc.completed_at desc, cc.id desc`,
    );
  }

  courseOptions(): Promise<Course[]> {
    return this.em.find(Course, {}, { orderBy: { [raw('lower(full_name)')]: 'asc', id: 'asc' } });
  }

  /** Records a completion by an administrator; false when the same completion was already recorded. */
  async recordCompletion(
    learnerId: number,
    courseId: number,
    completedOn: string,
    staffId: number,
    siteZone: string,
  ): Promise<boolean | 'no-course'> {
    if ((await this.em.count(Course, { id: courseId })) === 0) return 'no-course';
    const inserted = await this.db.rows<IdRow>(
      sql`insert into course_completion (learner_id, course_id, completed_at, source, recorded_by)
          values (${learnerId}, ${courseId}, ${startOfDaySql(sql`${completedOn}::date`, siteZone)}, 'admin', ${staffId})
          on conflict (learner_id, course_id, completed_at) do nothing
          returning id`,
    );
    if (inserted.length === 0) return false;
    await this.jobs.requestCompletionCheck([learnerId], 'course completion recorded by an administrator');
    await this.assignments.requestSyncsAfterCompletions([courseId], 'course completion recorded by an administrator');
    return true;
  }
}
