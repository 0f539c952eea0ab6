import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { KeysetPage, likeContains, ListQuery, readKeysetPage } from '../common/listing';
import { insertUnique, UniqueField, updateUnique } from '../common/entity-save';
import { RuleError } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { sql, SqlRunner } from '../database/sql';
import { JobRequests } from '../jobs/job-requests.service';
import { Audience, AudienceMember, Learner } from './learner.entity';

/** An audience in the list, with its sort key. */
export interface AudienceRow {
  id: number;
  name: string;
  description: string;
  member_count: number;
  k_name: string;
}

export interface MemberRow {
  id: number;
  id_number: string;
  first_name: string;
  last_name: string;
  email: string;
  added_at: string;
  k_last: string;
  k_first: string;
}

const NAME_UNIQUE: UniqueField = { field: 'name', message: 'There is already an audience with this name' };

interface CountRow {
  n: number;
}

interface NameRow {
  first_name: string;
  last_name: string;
}

export interface AudienceInput {
  name: string;
  description: string;
}

@Injectable()
export class AudiencesService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobRequests,
    private readonly urls: UrlBuilder,
  ) {
    this.db = new SqlRunner(em);
  }

  async list(query: ListQuery): Promise<KeysetPage<AudienceRow>> {
    const search = query.q ? sql`lower(a.name) like ${likeContains(query.q)}` : sql`true`;
    // Audiences are made by hand, a few thousand at most: counting them is cheap.
    const count = await this.db.one<CountRow>(sql`select count(*)::int as n from audience a where ${search}`);
    return readKeysetPage<AudienceRow>(this.db, {
      total: count?.n ?? 0,
      select: (keyset) => sql`select a.id, a.name, a.description, lower(a.name) as k_name,
                 (select count(*) from audience_member m where m.audience_id = a.id)::int as member_count
               from audience a where ${search} and ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: ['lower(a.name)', 'a.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_name, row.id],
      hrefFor: (param) => this.urls.withQuery('/audiences', { q: query.q, ...param }),
    });
  }

  get(id: number): Promise<Audience | null> {
    return this.em.findOne(Audience, id);
  }

  memberCount(id: number): Promise<number> {
    return this.em.count(AudienceMember, { audienceId: id });
  }

  async create(input: AudienceInput): Promise<number> {
    const audience = await insertUnique(this.em, Audience, { ...input, createdAt: new Date() }, NAME_UNIQUE);
    return audience.id;
  }

  update(id: number, input: AudienceInput): Promise<void> {
    return updateUnique(this.em, Audience, id, input, NAME_UNIQUE);
  }

  members(audienceId: number, query: ListQuery): Promise<KeysetPage<MemberRow>> {
    const search = query.q ? sql`lower(l.first_name || ' ' || l.last_name || ' ' || l.id_number) like ${likeContains(query.q)}` : sql`true`;
    return readKeysetPage<MemberRow>(this.db, {
      select: (keyset) => sql`select l.id, l.id_number, l.first_name, l.last_name, l.email, m.added_at,
                 lower(l.last_name) as k_last, lower(l.first_name) as k_first
               from audience_member m join learner l on l.id = m.learner_id
               where m.audience_id = ${audienceId} and ${search} and ${keyset.where} order by ${keyset.orderBy}`,
      keyColumns: ['lower(l.last_name)', 'lower(l.first_name)', 'l.id'],
      direction: 'asc',
      page: query.page,
      keyOf: (row) => [row.k_last, row.k_first, row.id],
      hrefFor: (param) => this.urls.withQuery(`/audiences/${audienceId}`, { q: query.q, ...param }),
    });
  }

  /** Adds the learner with this ID number; the error says why not. */
  async addMember(audienceId: number, idNumber: string): Promise<{ name: string }> {
    const learner = await this.em.findOne(Learner, { idNumber });
    if (!learner) throw new RuleError('idNumber', `There is no learner with ID number ${idNumber}`);
    const name = `${learner.firstName} ${learner.lastName}`;
    const added = await this.db.run(
      sql`insert into audience_member (audience_id, learner_id) values (${audienceId}, ${learner.id}) on conflict do nothing`,
    );
    if (added === 0) throw new RuleError('idNumber', `${name} (${idNumber}) is already a member of this audience`);
    await this.jobs.requestSync(null, 'audience member added');
    return { name };
  }

  /** Removes a member; null when they were not a member. */
  async removeMember(audienceId: number, learnerId: number): Promise<{ name: string } | null> {
    const removed = await this.db.one<NameRow>(
      sql`with gone as (delete from audience_member where audience_id = ${audienceId} and learner_id = ${learnerId} returning learner_id)
          select l.first_name, l.last_name from gone join learner l on l.id = gone.learner_id`,
    );
    if (!removed) return null;
    await this.jobs.requestSync(null, 'audience member removed');
    return { name: `${removed.first_name} ${removed.last_name}` };
  }
}
