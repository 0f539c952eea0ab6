import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { KeysetPage, likeContains, ListQuery, readKeysetPage } from '../common/listing';
import { insertUnique, UniqueField, updateUnique } from '../common/entity-save';
import { UrlBuilder } from '../common/url';
import { sql, SqlRunner } from '../database/sql';
import { Course } from './course.entity';

/** A course in the list, with its sort key. */
export interface CourseRow {
  id: number;
  short_name: string;
  full_name: string;
  completion_count: number;
  k_short: string;
}

export interface CourseInput {
  shortName: string;
  fullName: string;
}

const SHORT_NAME_UNIQUE: UniqueField = { field: 'shortName', message: 'There is already a course with this short name' };

interface CountRow {
  n: number;
}

@Injectable()
export class CoursesService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
  ) {
    this.db = new SqlRunner(em);
  }

  async list(query: ListQuery): Promise<KeysetPage<CourseRow>> {
    const search = query.q ? sql`lower(c.short_name || ' ' || c.full_name) like ${likeContains(query.q)}` : sql`true`;
    // Courses are made by hand, a few thousand at most: counting them is cheap.
    const count = await this.db.one<CountRow>(sql`select count(*)::int as n from course c where ${search}`);
    return readKeysetPage<CourseRow>(this.db, {
      total: count?.n ?? 0,
      select: (keyset) => sql`select c.id, c.short_name, c.full_name, lower(c.short_name) as k_short,
                 (select count(*) from course_completion cc where cc.course_id = c.id)::int as completion_count
               from course c where ${search} and ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: ['lower(c.short_name)', 'c.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_short, row.id],
      hrefFor: (param) => this.urls.withQuery('/courses', { q: query.q, ...param }),
    });
  }

  get(id: number): Promise<Course | null> {
    return this.em.findOne(Course, id);
  }

  async create(input: CourseInput): Promise<number> {
    const course = await insertUnique(this.em, Course, { ...input, createdAt: new Date() }, SHORT_NAME_UNIQUE);
    return course.id;
  }

  update(id: number, input: CourseInput): Promise<void> {
    return updateUnique(this.em, Course, id, input, SHORT_NAME_UNIQUE);
  }
}
