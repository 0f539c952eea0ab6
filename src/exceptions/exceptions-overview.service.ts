import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, keysetSql, PageQuery, readAllPages, rowKey } from '../common/keyset';
import { likeContains, ListView, PAGE_SIZE, parseListView } from '../common/listing';
import { sql, SqlRunner } from '../database/sql';
import { AgeBucket, ageFilter } from './exception-age';
import type { BulkState } from './bulk-action.entity';
import { ActionName, EXCEPTION_TYPES, ExceptionType } from './exception-rules';

/** A count column as a sort key: zero-padded text, so that any cursor value compares without a cast that could fail. */
const countKey = (column: string) => `lpad(o.${column}::text, 12, '0')`;

/** The overview's orders: the certification's name, any of its counts, or its oldest open exception. */
export const OVERVIEW_SORTS = {
  name: ['o.sort_name', 'o.id'],
  open: [countKey('open'), 'o.id'],
  time_allowance: [countKey('time_allowance'), 'o.id'],
  duplicate_course: [countKey('duplicate_course'), 'o.id'],
  completion_time_unknown: [countKey('completion_time_unknown'), 'o.id'],
  unknown: [countKey('unknown'), 'o.id'],
  today: [countKey('today'), 'o.id'],
  week: [countKey('week'), 'o.id'],
  month: [countKey('month'), 'o.id'],
  older: [countKey('older'), 'o.id'],
  oldest: ['o.oldest_raised_at', 'o.id'],
} as const satisfies Record<string, readonly string[]>;
export type OverviewSort = keyof typeof OVERVIEW_SORTS;

export type OverviewView = ListView<OverviewSort>;

/** The certifications read per keyset page of the CSV download. */
const CSV_PAGE_SIZE = 500;

/** A bulk action of the certification still queued or running. */
export interface UnfinishedBulkAction {
  id: number;
  action: ActionName;
  state: Extract<BulkState, 'queued' | 'running'>;
  processed: number;
  total: number;
}

/** One certification with open exceptions: its counts by type and by age on the reader's calendar. */
export interface OverviewRow {
  id: number;
  fullName: string;
  shortName: string;
  open: number;
  byType: Record<ExceptionType, number>;
  byAge: Record<AgeBucket, number>;
  oldestRaisedAt: Date;
  unfinished: UnfinishedBulkAction[];
  key: CursorValue[];
}

export interface OverviewPage {
  rows: OverviewRow[];
  /** Certifications with open exceptions matching the search. */
  total: number;
}

type ReadRow = Record<ExceptionType | AgeBucket | 'open', number> & {
  id: number;
  full_name: string;
  short_name: string;
  oldest_raised_at: Date;
  unfinished: UnfinishedBulkAction[] | null;
  total: number;
  [key: `key_${number}`]: unknown;
};

export function parseOverviewView(query: Record<string, unknown>): OverviewView {
  return parseListView(query, OVERVIEW_SORTS, 'name');
}

/**
 * The Exceptions overview: every certification with open exceptions, with the open count by type
 * (exception_open_count) and by age (exception_open_quarter_count), both kept by triggers on the
 * exceptions. The age buckets are the Exception report's age filter on the reader's calendar: a
 * day there starts on a quarter hour, so the quarter hours since the first day of "8 to 30 days
 * ago" give today's, the week's and the month's counts exactly, and the rest are older.
 */
@Injectable()
export class ExceptionsOverviewService {
  private readonly db: SqlRunner;

  constructor(em: EntityManager) {
    this.db = new SqlRunner(em);
  }

  /** One page of the overview in the view's order (limit+1 rows, for "is there more"), and how many match. */
  async page(view: OverviewView, zone: string, page: PageQuery, limit = PAGE_SIZE, now = new Date()): Promise<OverviewPage> {
    const columns = OVERVIEW_SORTS[view.sort];
    const keyset = keysetSql(columns, view.dir, page);
    const [today, week, month] = (['today', 'week', 'month'] as const).map((bucket) => ageFilter(bucket, zone, now).raisedFrom!);
    // The oldest open exception: one index probe per certification, made for the page's rows only
    // unless the page is sorted by it.
    const byOldest = view.sort === 'oldest';
    const oldest = (certificationId: string) =>
      sql`coalesce((select e.raised_at from exception e where e.certification_id = ${sql.raw(certificationId)} and e.status = 'open'
                     order by e.raised_at, e.id limit 1), 'infinity')`;
    // In name order the page's certifications are known before any count: only theirs are counted.
    const byName = view.sort === 'name';
    const matches = sql`exists (select 1 from exception_open_count x where x.certification_id = c.id and x.n > 0)
      ${view.q ? sql`and lower(c.full_name) like ${likeContains(view.q)}` : sql``}`;
    const nameKeyset = keysetSql(['lower(c.full_name)', 'c.id'], view.dir, page);
    const chosen = byName
      ? sql`select c.id from certification c where ${matches} and ${nameKeyset.where} order by ${nameKeyset.orderBy} limit ${limit + 1}`
      : sql`select c.id from certification c where ${matches}`;
    const byType = sql.raw(EXCEPTION_TYPES.map((type) => `coalesce(sum(n) filter (where type = '${type}'), 0)::int as ${type}`).join(', '));
    const rows = await this.db.rows<ReadRow>(
      sql`with chosen as materialized (${chosen}),
          counts as (
            select certification_id, sum(n)::int as open, ${byType}
              from exception_open_count where n > 0 and certification_id in (select id from chosen) group by certification_id),
          recent as (
            select certification_id,
                   coalesce(sum(n) filter (where raised_quarter >= ${today}::timestamptz), 0)::int as today,
                   coalesce(sum(n) filter (where raised_quarter >= ${week}::timestamptz and raised_quarter < ${today}::timestamptz), 0)::int as week,
                   coalesce(sum(n) filter (where raised_quarter < ${week}::timestamptz), 0)::int as month
              from exception_open_quarter_count
             where raised_quarter >= ${month}::timestamptz and n <> 0 and certification_id in (select id from chosen)
             group by certification_id),
          overview as materialized (
            select c.id, c.full_name, c.short_name, lower(c.full_name) as sort_name, k.open,
                   ${sql.raw(EXCEPTION_TYPES.map((type) => `k.${type}`).join(', '))},
                   coalesce(r.today, 0) as today, coalesce(r.week, 0) as week, coalesce(r.month, 0) as month,
                   k.open - coalesce(r.today + r.week + r.month, 0) as older
                   ${byOldest ? sql`, ${oldest('k.certification_id')} as oldest_raised_at` : sql``}
              from counts k
              join certification c on c.id = k.certification_id
              left join recent r on r.certification_id = k.certification_id
             where k.open > 0)
          select o.*, ${byName ? sql`(select count(*) from certification c where ${matches})` : sql`(select count(*) from overview)`}::int as total,
                 ${byOldest ? sql`` : sql`${oldest('o.id')} as oldest_raised_at,`}
                 (select json_agg(json_build_object('id', b.id, 'action', b.action, 'state', b.state, 'processed', b.processed, 'total', b.total) order by b.id)
                    from bulk_action b where b.certification_id = o.id and b.state in ('queued', 'running')) as unfinished,
                 ${keyset.select}
            from overview o
           where ${keyset.where}
           order by ${keyset.orderBy}
           limit ${limit + 1}`,
    );
    return {
      total: rows[0]?.total ?? (page.after || page.before ? await this.count(view) : 0),
      rows: rows.map((r) => ({
        id: r.id,
        fullName: r.full_name,
        shortName: r.short_name,
        open: r.open,
        byType: Object.fromEntries(EXCEPTION_TYPES.map((type) => [type, r[type]])) as Record<ExceptionType, number>,
        byAge: { today: r.today, week: r.week, month: r.month, older: r.older },
        oldestRaisedAt: r.oldest_raised_at,
        unfinished: (r.unfinished ?? []).map((b) => ({ ...b, id: Number(b.id) })),
        key: rowKey(r, columns.length),
      })),
    };
  }

  /** Every row of the overview in the view's order, a page at a time (the CSV download). */
  allRows(view: OverviewView, zone: string, now = new Date()): AsyncGenerator<OverviewRow[]> {
    return readAllPages(async (page, limit) => (await this.page(view, zone, page, limit, now)).rows, CSV_PAGE_SIZE);
  }

  /** How many certifications with open exceptions match the search (a page past the end has no row to carry it). */
  private async count(view: OverviewView): Promise<number> {
    const row = await this.db.one<{ n: number }>(
      sql`select count(*)::int as n from certification c
           where exists (select 1 from exception_open_count k where k.certification_id = c.id and k.n > 0)
           ${view.q ? sql`and lower(c.full_name) like ${likeContains(view.q)}` : sql``}`,
    );
    return row?.n ?? 0;
  }
}
