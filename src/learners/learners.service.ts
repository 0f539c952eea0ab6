import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Direction } from '../common/keyset';
import { KeysetPage, ListQuery, readPage } from '../common/listing';
import { RuleError, uniqueOr } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { JobRequests } from '../jobs/job-requests.service';
import { AssignmentService } from '../assignments/assignment.service';
import { parseDateTimeLocal } from './learner-rules';
import { likeContains } from '../common/listing';

export interface LearnerRow {
  id: number;
  id_number: string;
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  hire_date: string | null;
  first_login_at: Date | null;
  suspended: boolean;
  /** Sort keys as PostgreSQL lowers them (list only). */
  k_last?: string;
  k_first?: string;
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

const LEARNER_COLUMNS = `id, id_number, username, first_name, last_name, email, to_char(hire_date, 'YYYY-MM-DD') as hire_date,
  first_login_at, suspended`;

const SORT_KEYS: Record<LearnerSort, { columns: string[]; keyOf: (row: LearnerRow) => Array<string | number> }> = {
  name: {
    columns: ['lower(last_name)', 'lower(first_name)', 'id'],
    keyOf: (row) => [row.k_last!, row.k_first!, row.id],
  },
  // id_number is unique; the id ends the key all the same, as every cursor's last value is an id.
  idNumber: { columns: ['id_number', 'id'], keyOf: (row) => [row.id_number, row.id] },
};

@Injectable()
export class LearnersService {
  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly urls: UrlBuilder,
    private readonly assignments: AssignmentService,
  ) {}

  private sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.em.getConnection().execute<T[]>(query, params);
  }

  list(query: ListQuery & { sort: LearnerSort; dir: Direction }): Promise<KeysetPage<LearnerRow>> {
    const key = SORT_KEYS[query.sort];
    // The search expression is the one of the trigram index learner_search_trgm.
    const search = query.q ? `lower(first_name || ' ' || last_name || ' ' || id_number) like ?` : 'true';
    return readPage<LearnerRow>((sql, params) => this.sql<LearnerRow>(sql, params), {
      select: `select ${LEARNER_COLUMNS}, lower(last_name) as k_last, lower(first_name) as k_first from learner where ${search} and {where} order by {orderBy}`,
      params: query.q ? [likeContains(query.q)] : [],
      keyColumns: key.columns,
      direction: query.dir,
      page: query.page,
      keyOf: key.keyOf,
      hrefFor: (param) => this.urls.withQuery('/learners', { q: query.q, sort: query.sort, dir: query.dir, ...param }),
    });
  }

  async get(id: number): Promise<LearnerRow | null> {
    const [row] = await this.sql<LearnerRow>(`select ${LEARNER_COLUMNS} from learner where id = ?`, [id]);
    return row ?? null;
  }

  async create(input: LearnerInput): Promise<number> {
    await this.checkUnique(input, null);
    const [row] = await this.write<{ id: number }>(
      `insert into learner (id_number, username, first_name, last_name, email, hire_date, first_login_at, suspended)
       values (?, ?, ?, ?, ?, ?, ?, ?) returning id`,
      this.values(input),
    );
    await this.jobs.requestSync(null, 'learner created');
    return row.id;
  }

  async update(id: number, input: LearnerInput): Promise<void> {
    await this.checkUnique(input, id);
    await this.write(
      `update learner set id_number = ?, username = ?, first_name = ?, last_name = ?, email = ?, hire_date = ?,
         first_login_at = ?, suspended = ?, updated_at = now()
       where id = ?`,
      [...this.values(input), id],
    );
    await this.jobs.requestSync(null, 'learner changed');
  }

  private values(input: LearnerInput): unknown[] {
    return [
      input.idNumber,
      input.username,
      input.firstName,
      input.lastName,
      input.email,
      input.hireDate || null,
      input.firstLogin ? parseDateTimeLocal(input.firstLogin) : null,
      input.suspended,
    ];
  }

  private async checkUnique(input: LearnerInput, exceptId: number | null): Promise<void> {
    const clashes = await this.sql<{ id_number: string; username: string }>(
      `select id_number, username from learner where (id_number = ? or lower(username) = lower(?)) and id is distinct from ?`,
      [input.idNumber, input.username, exceptId],
    );
    if (clashes.some((c) => c.id_number === input.idNumber)) {
      throw new RuleError('idNumber', 'There is already a learner with this ID number');
    }
    if (clashes.length > 0) throw new RuleError('username', 'There is already a learner with this username');
  }

  private write<T>(query: string, params: unknown[]): Promise<T[]> {
    return uniqueOr(this.sql<T>(query, params), 'idNumber', 'There is already a learner with this ID number or username');
  }

  certifications(learnerId: number) {
    return this.sql<{ id: number; full_name: string; state: string; due_at: Date | null; exception_status: string }>(
      `select c.id, c.full_name, m.state, m.due_at, m.exception_status
         from membership m join certification c on c.id = m.certification_id
        where m.learner_id = ? and m.removed_at is null
        order by lower(c.full_name), c.id`,
      [learnerId],
    );
  }

  /** Every membership of a learner (active and removed), each with its exceptions, newest first. */
  membershipHistory(learnerId: number) {
    return this.sql<{
      membership_id: number;
      certification_id: number;
      full_name: string;
      removed_at: Date | null;
      exception_id: number | null;
      raised_at: Date | null;
      type: string | null;
      status: string | null;
      handled_at: Date | null;
      handled_by: string | null;
      reason: string | null;
    }>(
      `select m.id as membership_id, c.id as certification_id, c.full_name, m.removed_at,
              e.id as exception_id, e.raised_at, e.type, e.status, e.handled_at, s.display_name as handled_by, e.reason
         from membership m
         join certification c on c.id = m.certification_id
         left join exception e on e.membership_id = m.id
         left join staff s on s.id = e.handled_by
        where m.learner_id = ?
        order by (m.removed_at is not null), lower(c.full_name), m.id, e.raised_at desc, e.id desc`,
      [learnerId],
    );
  }

  completions(learnerId: number) {
    return this.sql<{ id: number; short_name: string; full_name: string; completed_at: Date; source: string; recorded_by: string | null }>(
      `select cc.id, c.short_name, c.full_name, cc.completed_at, cc.source, s.display_name as recorded_by
         from course_completion cc
         join course c on c.id = cc.course_id
         left join staff s on s.id = cc.recorded_by
        where cc.learner_id = ?
        order by cc.completed_at desc, cc.id desc`,
      [learnerId],
    );
  }

  courseOptions() {
    return this.sql<{ id: number; short_name: string; full_name: string }>(
      `select id, short_name, full_name from course order by lower(full_name), id`,
    );
  }

  /** Records a completion by an administrator; false when the same completion was already recorded. */
  async recordCompletion(learnerId: number, courseId: number, completedOn: string, staffId: number): Promise<boolean | 'no-course'> {
    const [course] = await this.sql<{ id: number }>(`select id from course where id = ?`, [courseId]);
    if (!course) return 'no-course';
    const inserted = await this.sql<{ id: number }>(
      `insert into course_completion (learner_id, course_id, completed_at, source, recorded_by)
       values (?, ?, (?::date)::timestamp at time zone 'UTC', 'admin', ?)
       on conflict (learner_id, course_id, completed_at) do nothing
       returning id`,
      [learnerId, courseId, completedOn, staffId],
    );
    if (inserted.length === 0) return false;
    await this.jobs.requestCompletionCheck([learnerId], 'course completion recorded by an administrator');
    await this.assignments.requestSyncsAfterCompletions([courseId], 'course completion recorded by an administrator');
    return true;
  }
}
