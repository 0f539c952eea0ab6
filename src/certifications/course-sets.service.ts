import { Injectable } from '@nestjs/common';
import { raw } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { RuleError } from '../common/rule-error';
import { Course } from '../courses/course.entity';
import { inTransaction, sql, SqlRunner } from '../database/sql';
import { CourseSet as CourseSetEntity, CourseSetCourse } from './certification.entity';
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

function courseOption({ id, shortName, fullName }: Course): CourseOption {
  return { id, shortName, fullName };
}

interface CourseSetRow extends Omit<CourseSet, 'courses'> {
  courses: CourseOption[] | null;
}

interface IdRow {
  id: number;
}

interface CountRow {
  n: number;
}

interface PositionRow {
  position: number;
}

/** A set's place: its path and its position on it. */
interface PlaceRow {
  path: PathName;
  position: number;
}

interface TotalsRow {
  path: PathName;
  minDays: number;
  joiner: Joiner;
}

/** The two paths of a certification: ordered course sets, their courses and the stored totals. */
@Injectable()
export class CourseSetsService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
  ) {
    this.db = new SqlRunner(em);
  }

  async paths(certificationId: number): Promise<Record<PathName, CourseSet[]>> {
    const rows = await this.db.rows<CourseSetRow>(
      sql`select s.id, s.path, s.position, s.name, s.completion_rule as rule, s.min_days as "minDays", s.joiner,
              (select json_agg(json_build_object('id', c.id, 'shortName', c.short_name, 'fullName', c.full_name)
                               order by lower(c.short_name))
                 from course_set_course sc join course c on c.id = sc.course_id
                where sc.course_set_id = s.id) as courses
         from course_set s
        where s.certification_id = ${certificationId}
        order by s.path, s.position`,
    );
    const result: Record<PathName, CourseSet[]> = { certification: [], recertification: [] };
    for (const row of rows) result[row.path].push({ ...row, courses: row.courses ?? [] });
    return result;
  }

  async get(certificationId: number, setId: number): Promise<CourseSet | null> {
    const set = await this.em.findOne(CourseSetEntity, { id: setId, certificationId });
    if (!set) return null;
    const links = await this.em.find(CourseSetCourse, { courseSetId: setId });
    const courses = await this.em.find(
      Course,
      { id: { $in: links.map((link) => link.courseId) } },
      { orderBy: { [raw('lower(short_name)')]: 'asc' } },
    );
    const { id, path, position, name, rule, minDays, joiner } = set;
    return { id, path, position, name, rule, minDays, joiner, courses: courses.map(courseOption) };
  }

  /** Whether a course set with this id exists in any certification. */
  async exists(setId: number): Promise<boolean> {
    return (await this.em.count(CourseSetEntity, { id: setId })) > 0;
  }

  async courseOptions(): Promise<CourseOption[]> {
    const courses = await this.em.find(Course, {}, { orderBy: { [raw('lower(short_name)')]: 'asc', id: 'asc' } });
    return courses.map(courseOption);
  }

  async add(certificationId: number, path: PathName, input: CourseSetInput): Promise<void> {
    await this.change(certificationId, async (db, em) => {
      await this.checkCourses(db, input.courseIds);
      // The certification row is locked: no other change can take the same position meanwhile.
      const last = await db.one<PositionRow>(
        sql`select coalesce(max(position), 0)::int as position from course_set where certification_id = ${certificationId} and path = ${path}`,
      );
      const set = em.create(CourseSetEntity, {
        certificationId,
        path,
        position: (last?.position ?? 0) + 1,
        name: input.name,
        rule: input.rule,
        minDays: input.minDays,
        joiner: input.joiner,
      });
      await em.flush();
      await this.setCourses(db, set.id, input.courseIds);
      return true;
    });
  }

  update(certificationId: number, setId: number, input: CourseSetInput): Promise<boolean> {
    return this.change(certificationId, async (db, em) => {
      await this.checkCourses(db, input.courseIds);
      const set = await em.findOne(CourseSetEntity, { id: setId, certificationId });
      if (!set) return false;
      em.assign(set, { name: input.name, rule: input.rule, minDays: input.minDays, joiner: input.joiner });
      await em.flush();
      await this.setCourses(db, setId, input.courseIds);
      return true;
    });
  }

  /** Deletes a set and closes the gap, so positions stay 1..n. */
  remove(certificationId: number, setId: number): Promise<boolean> {
    return this.change(certificationId, async (db) => {
      const gone = await db.one<PlaceRow>(
        sql`delete from course_set where id = ${setId} and certification_id = ${certificationId} returning path, position`,
      );
      if (!gone) return false;
      await db.run(
        sql`update course_set set position = position - 1
             where certification_id = ${certificationId} and path = ${gone.path} and position > ${gone.position}`,
      );
      return true;
    });
  }

  /** Swaps a set with its neighbour (the unique position constraint is checked at commit). */
  move(certificationId: number, setId: number, direction: 'up' | 'down'): Promise<boolean> {
    return this.change(certificationId, async (db) => {
      const set = await db.one<PlaceRow>(
        sql`select path, position from course_set where id = ${setId} and certification_id = ${certificationId}`,
      );
      if (!set) return false;
      const target = set.position + (direction === 'up' ? -1 : 1);
      const swapped = await db.run(
        sql`update course_set set position = ${set.position}
             where certification_id = ${certificationId} and path = ${set.path} and position = ${target}`,
      );
      if (swapped === 0) return false;
      await db.run(sql`update course_set set position = ${target} where id = ${setId}`);
      return true;
    });
  }

  /**
   * Runs a change to a certification's sets in one transaction (the certification row locked, so
   * two admins editing one path queue up), stores both path totals, then asks for a sync of it and
   * of the certifications that shared a course with it before or share one after: their duplicate
   * course exceptions may have lost or changed their cause.
   */
  private async change(certificationId: number, work: (db: SqlRunner, em: EntityManager) => Promise<boolean>): Promise<boolean> {
    const sharing = await inTransaction(this.em, async (db, em) => {
      await db.rows<IdRow>(sql`select id from certification where id = ${certificationId} for update`);
      const sharedBefore = await this.sharingCourses(certificationId, db);
      if (!(await work(db, em))) return null;
      const sets = await db.rows<TotalsRow>(
        sql`select path, min_days as "minDays", joiner from course_set where certification_id = ${certificationId} order by path, position`,
      );
      const [certificationTotal, recertificationTotal] = PATHS.map((path) => totalMinimumDays(sets.filter((s) => s.path === path)));
      await db.run(
        sql`update certification set certification_min_days = ${certificationTotal}, recertification_min_days = ${recertificationTotal},
                   updated_at = now()
             where id = ${certificationId}`,
      );
      return [...new Set([...sharedBefore, ...(await this.sharingCourses(certificationId, db))])];
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
  async sharingCourses(certificationId: number, db: SqlRunner = this.db): Promise<number[]> {
    const rows = await db.rows<IdRow>(
      sql`select distinct other.certification_id as id
            from course_set mine
            join course_set_course a on a.course_set_id = mine.id
            join course_set_course b on b.course_id = a.course_id
            join course_set other on other.id = b.course_set_id and other.certification_id <> mine.certification_id
           where mine.certification_id = ${certificationId}
             and exists (select 1 from exception_open_count n where n.certification_id = other.certification_id and n.n > 0)
           order by 1`,
    );
    return rows.map((r) => r.id);
  }

  private async checkCourses(db: SqlRunner, courseIds: number[]) {
    const row = await db.one<CountRow>(sql`select count(*)::int as n from course where id = any(${courseIds}::int[])`);
    if (row?.n !== courseIds.length) throw new RuleError('courses', 'Choose courses from the list');
  }

  private async setCourses(db: SqlRunner, setId: number, courseIds: number[]) {
    await db.run(sql`delete from course_set_course where course_set_id = ${setId}`);
    await db.run(sql`insert into course_set_course (course_set_id, course_id) select ${setId}, unnest(${courseIds}::int[])`);
  }
}
