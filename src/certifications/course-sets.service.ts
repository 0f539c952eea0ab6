import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { RuleError } from '../common/rule-error';
import { intArray } from '../common/sql';
import { inTransaction, Run } from '../common/transaction';
import { JobRequests } from '../jobs/job-requests.service';
import { totalMinimumDays, Joiner } from './minimum-time';
import { CompletionRule, CourseSetInput, PathName, PATHS } from './course-sets.dto';

export interface CourseOption {
  id: number;
  shortName: string;
  fullName: string;
}

export interface CourseSet {
  id: number;
  path: PathName;
  position: number;
  name: string;
  rule: CompletionRule;
  minDays: number;
  joiner: Joiner;
  courses: CourseOption[];
}

/** The two paths of a certification: ordered course sets, their courses and the stored totals. */
@Injectable()
export class CourseSetsService {
  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
  ) {}

  async paths(certificationId: number): Promise<Record<PathName, CourseSet[]>> {
    const rows = await this.em.getConnection().execute<Array<Omit<CourseSet, 'courses'> & { courses: CourseOption[] | null }>>(
      `select s.id, s.path, s.position, s.name, s.completion_rule as rule, s.min_days as "minDays", s.joiner,
              (select json_agg(json_build_object('id', c.id, 'shortName', c.short_name, 'fullName', c.full_name)
                               order by lower(c.short_name))
                 from course_set_course sc join course c on c.id = sc.course_id
                where sc.course_set_id = s.id) as courses
         from course_set s
        where s.certification_id = ?
        order by s.path, s.position`,
      [certificationId],
    );
    const result: Record<PathName, CourseSet[]> = { certification: [], recertification: [] };
    for (const row of rows) result[row.path].push({ ...row, courses: row.courses ?? [] });
    return result;
  }

  async get(certificationId: number, setId: number): Promise<CourseSet | null> {
    const all = await this.paths(certificationId);
    return [...all.certification, ...all.recertification].find((s) => s.id === setId) ?? null;
  }

  /** Whether a course set with this id exists in any certification. */
  async exists(setId: number): Promise<boolean> {
    return (await this.em.getConnection().execute(`select 1 from course_set where id = ?`, [setId])).length > 0;
  }

  courseOptions(): Promise<CourseOption[]> {
    return this.em
      .getConnection()
      .execute<CourseOption[]>(`select id, short_name as "shortName", full_name as "fullName" from course order by lower(short_name), id`);
  }

  async add(certificationId: number, path: PathName, input: CourseSetInput): Promise<void> {
    await this.change(certificationId, async (run) => {
      await this.checkCourses(run, input.courseIds);
      const [row] = await run<{ id: number }>(
        `insert into course_set (certification_id, path, position, name, completion_rule, min_days, joiner)
         select ?, ?, coalesce(max(position), 0) + 1, ?, ?, ?, ?
           from course_set where certification_id = ? and path = ?
         returning id`,
        [certificationId, path, input.name, input.rule, input.minDays, input.joiner, certificationId, path],
      );
      await this.setCourses(run, row.id, input.courseIds);
      return true;
    });
  }

  update(certificationId: number, setId: number, input: CourseSetInput): Promise<boolean> {
    return this.change(certificationId, async (run) => {
      await this.checkCourses(run, input.courseIds);
      const updated = await run<{ id: number }>(
        `update course_set set name = ?, completion_rule = ?, min_days = ?, joiner = ?
          where id = ? and certification_id = ? returning id`,
        [input.name, input.rule, input.minDays, input.joiner, setId, certificationId],
      );
      if (updated.length === 0) return false;
      await this.setCourses(run, setId, input.courseIds);
      return true;
    });
  }

  /** Deletes a set and closes the gap, so positions stay 1..n. */
  remove(certificationId: number, setId: number): Promise<boolean> {
    return this.change(certificationId, async (run) => {
      const [gone] = await run<{ path: PathName; position: number }>(
        `delete from course_set where id = ? and certification_id = ? returning path, position`,
        [setId, certificationId],
      );
      if (!gone) return false;
      await run(`update course_set set position = position - 1 where certification_id = ? and path = ? and position > ?`, [
        certificationId,
        gone.path,
        gone.position,
      ]);
      return true;
    });
  }

  /** Swaps a set with its neighbour (the unique position constraint is checked at commit). */
  move(certificationId: number, setId: number, direction: 'up' | 'down'): Promise<boolean> {
    return this.change(certificationId, async (run) => {
      const [set] = await run<{ path: PathName; position: number }>(
        `select path, position from course_set where id = ? and certification_id = ?`,
        [setId, certificationId],
      );
      if (!set) return false;
      const target = set.position + (direction === 'up' ? -1 : 1);
      const swapped = await run<{ id: number }>(
        `update course_set set position = ? where certification_id = ? and path = ? and position = ? returning id`,
        [set.position, certificationId, set.path, target],
      );
      if (swapped.length === 0) return false;
      await run(`update course_set set position = ? where id = ?`, [target, setId]);
      return true;
    });
  }

  /**
   * Runs a change to a certification's sets in one transaction (the certification row locked, so
   * two admins editing one path queue up), stores both path totals, then asks for a sync of it and
   * of the certifications that shared a course with it before or share one after: their duplicate
   * course exceptions may have lost or changed their cause.
   */
  private async change(certificationId: number, work: (run: Run) => Promise<boolean>): Promise<boolean> {
    const sharing = await inTransaction(this.em, async (run) => {
      await run(`select id from certification where id = ? for update`, [certificationId]);
      const sharedBefore = await this.sharingCourses(certificationId, run);
      if (!(await work(run))) return null;
      const sets = await run<{ path: PathName; minDays: number; joiner: Joiner }>(
        `select path, min_days as "minDays", joiner from course_set where certification_id = ? order by path, position`,
        [certificationId],
      );
      const [certificationTotal, recertificationTotal] = PATHS.map((path) => totalMinimumDays(sets.filter((s) => s.path === path)));
      await run(`update certification set certification_min_days = ?, recertification_min_days = ?, updated_at = now() where id = ?`, [
        certificationTotal,
        recertificationTotal,
        certificationId,
      ]);
      return [...new Set([...sharedBefore, ...(await this.sharingCourses(certificationId, run))])];
    });
    if (sharing === null) return false;
    await this.jobs.requestSync(certificationId, 'content changed');
    for (const other of sharing) await this.jobs.requestSync(other, 'content of a certification sharing a course changed');
    return true;
  }

  /**
   * The other certifications with open exceptions whose paths share a course with this one's: the
   * ones whose duplicate course checks depend on this certification's content and memberships.
   */
  async sharingCourses(certificationId: number, run?: Run): Promise<number[]> {
    const sql = `select distinct other.certification_id as id
         from course_set mine
         join course_set_course a on a.course_set_id = mine.id
         join course_set_course b on b.course_id = a.course_id
         join course_set other on other.id = b.course_set_id and other.certification_id <> mine.certification_id
        where mine.certification_id = ?
          and exists (select 1 from exception_open_count n where n.certification_id = other.certification_id and n.n > 0)
        order by 1`;
    const rows = run
      ? await run<{ id: number }>(sql, [certificationId])
      : await this.em.getConnection().execute<Array<{ id: number }>>(sql, [certificationId]);
    return rows.map((r) => r.id);
  }

  private async checkCourses(run: Run, courseIds: number[]) {
    const [row] = await run<{ n: number }>(`select count(*)::int as n from course where id = any(?::int[])`, [intArray(courseIds)]);
    if (row.n !== courseIds.length) throw new RuleError('courses', 'Choose courses from the list');
  }

  private async setCourses(run: Run, setId: number, courseIds: number[]) {
    await run(`delete from course_set_course where course_set_id = ?`, [setId]);
    await run(`insert into course_set_course (course_set_id, course_id) select ?, unnest(?::int[])`, [setId, intArray(courseIds)]);
  }
}
