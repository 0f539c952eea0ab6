import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { KeysetPage, ListQuery, readPage } from '../common/listing';
import { RuleError, uniqueOr } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { JobRequests } from '../jobs/job-requests.service';
import { likeContains } from '../common/listing';

export interface AudienceRow {
  id: number;
  name: string;
  description: string;
  member_count: number;
  k_name?: string;
}

export interface MemberRow {
  id: number;
  id_number: string;
  first_name: string;
  last_name: string;
  email: string;
  added_at: Date;
  k_last?: string;
  k_first?: string;
}

@Injectable()
export class AudiencesService {
  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly urls: UrlBuilder,
  ) {}

  private sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.em.getConnection().execute<T[]>(query, params);
  }

  async list(query: ListQuery): Promise<KeysetPage<AudienceRow>> {
    const search = query.q ? `lower(a.name) like ?` : 'true';
    // Audiences are made by hand, a few thousand at most: counting them is cheap.
    const [{ n }] = await this.sql<{ n: number }>(
      `select count(*)::int as n from audience a where ${search}`,
      query.q ? [likeContains(query.q)] : [],
    );
    return readPage<AudienceRow>((sql, params) => this.sql<AudienceRow>(sql, params), {
      total: n,
      select: `select a.id, a.name, a.description, lower(a.name) as k_name,
                 (select count(*) from audience_member m where m.audience_id = a.id)::int as member_count
               from audience a where ${search} and {where} order by {orderBy}`,
      params: query.q ? [likeContains(query.q)] : [],
      keyColumns: ['lower(a.name)', 'a.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_name!, row.id],
      hrefFor: (param) => this.urls.withQuery('/audiences', { q: query.q, ...param }),
    });
  }

  async get(id: number): Promise<AudienceRow | null> {
    const [row] = await this.sql<AudienceRow>(
      `select a.id, a.name, a.description, (select count(*) from audience_member m where m.audience_id = a.id)::int as member_count
         from audience a where a.id = ?`,
      [id],
    );
    return row ?? null;
  }

  async create(input: { name: string; description: string }): Promise<number> {
    const [row] = await this.write<{ id: number }>(`insert into audience (name, description) values (?, ?) returning id`, [
      input.name,
      input.description,
    ]);
    return row.id;
  }

  async update(id: number, input: { name: string; description: string }): Promise<void> {
    await this.write(`update audience set name = ?, description = ? where id = ?`, [input.name, input.description, id]);
  }

  private write<T>(query: string, params: unknown[]): Promise<T[]> {
    return uniqueOr(this.sql<T>(query, params), 'name', 'There is already an audience with this name');
  }

  members(audienceId: number, query: ListQuery): Promise<KeysetPage<MemberRow>> {
    const search = query.q ? `lower(l.first_name || ' ' || l.last_name || ' ' || l.id_number) like ?` : 'true';
    return readPage<MemberRow>((sql, params) => this.sql<MemberRow>(sql, params), {
      select: `select l.id, l.id_number, l.first_name, l.last_name, l.email, m.added_at,
                 lower(l.last_name) as k_last, lower(l.first_name) as k_first
               from audience_member m join learner l on l.id = m.learner_id
               where m.audience_id = ? and ${search} and {where} order by {orderBy}`,
      params: query.q ? [audienceId, likeContains(query.q)] : [audienceId],
      keyColumns: ['lower(l.last_name)', 'lower(l.first_name)', 'l.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_last!, row.k_first!, row.id],
      hrefFor: (param) => this.urls.withQuery(`/audiences/${audienceId}`, { q: query.q, ...param }),
    });
  }

  /** Adds the learner with this ID number; the error says why not. */
  async addMember(audienceId: number, idNumber: string): Promise<{ name: string }> {
    const [learner] = await this.sql<{ id: number; first_name: string; last_name: string }>(
      `select id, first_name, last_name from learner where id_number = ?`,
      [idNumber],
    );
    if (!learner) throw new RuleError('idNumber', `There is no learner with ID number ${idNumber}`);
    const name = `${learner.first_name} ${learner.last_name}`;
    const added = await this.sql(
      `insert into audience_member (audience_id, learner_id) values (?, ?) on conflict do nothing returning learner_id`,
      [audienceId, learner.id],
    );
    if (added.length === 0) throw new RuleError('idNumber', `${name} (${idNumber}) is already a member of this audience`);
    await this.jobs.requestSync(null, 'audience member added');
    return { name };
  }

  /** Removes a member; null when they were not a member. */
  async removeMember(audienceId: number, learnerId: number): Promise<{ name: string } | null> {
    const [removed] = await this.sql<{ first_name: string; last_name: string }>(
      `with gone as (delete from audience_member where audience_id = ? and learner_id = ? returning learner_id)
       select l.first_name, l.last_name from gone join learner l on l.id = gone.learner_id`,
      [audienceId, learnerId],
    );
    if (!removed) return null;
    await this.jobs.requestSync(null, 'audience member removed');
    return { name: `${removed.first_name} ${removed.last_name}` };
  }
}
