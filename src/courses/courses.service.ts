import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { KeysetPage, ListQuery, readPage } from '../common/listing';
import { uniqueOr } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { likeContains } from '../common/listing';

export interface CourseRow {
  id: number;
  short_name: string;
  full_name: string;
  completion_count: number;
  k_short?: string;
}

@Injectable()
export class CoursesService {
  constructor(
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
  ) {}

  private sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.em.getConnection().execute<T[]>(query, params);
  }

  async list(query: ListQuery): Promise<KeysetPage<CourseRow>> {
    const search = query.q ? `lower(c.short_name || ' ' || c.full_name) like ?` : 'true';
    // Courses are made by hand, a few thousand at most: counting them is cheap.
    const [{ n }] = await this.sql<{ n: number }>(
      `select count(*)::int as n from course c where ${search}`,
      query.q ? [likeContains(query.q)] : [],
    );
    return readPage<CourseRow>((sql, params) => this.sql<CourseRow>(sql, params), {
      total: n,
      select: `select c.id, c.short_name, c.full_name, lower(c.short_name) as k_short,
                 (select count(*) from course_completion cc where cc.course_id = c.id)::int as completion_count
               from course c where ${search} and {where} order by {orderBy}`,
      params: query.q ? [likeContains(query.q)] : [],
      keyColumns: ['lower(c.short_name)', 'c.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_short!, row.id],
      hrefFor: (param) => this.urls.withQuery('/courses', { q: query.q, ...param }),
    });
  }

  async get(id: number): Promise<CourseRow | null> {
    const [row] = await this.sql<CourseRow>(`select id, short_name, full_name, 0 as completion_count from course where id = ?`, [id]);
    return row ?? null;
  }

  async create(input: { shortName: string; fullName: string }): Promise<number> {
    const [row] = await this.write<{ id: number }>(`insert into course (short_name, full_name) values (?, ?) returning id`, [
      input.shortName,
      input.fullName,
    ]);
    return row.id;
  }

  async update(id: number, input: { shortName: string; fullName: string }): Promise<void> {
    await this.write(`update course set short_name = ?, full_name = ? where id = ?`, [input.shortName, input.fullName, id]);
  }

  private write<T>(query: string, params: unknown[]): Promise<T[]> {
    return uniqueOr(this.sql<T>(query, params), 'shortName', 'There is already a course with this short name');
  }
}
