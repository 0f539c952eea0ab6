import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { CursorValue, Direction, keysetSql, PageQuery, PageRead, readAllPages, rowKey } from '../common/keyset';
import { sql, SqlRunner } from '../database/sql';
import { handledBySql } from '../exceptions/action-effects';
import { EXCEPTION_STATUSES, ExceptionStatus, ReportState } from './report-states';
import { learnerMatchesSql, parseListView, sortParams } from '../common/listing';

/** The columns the admin may tick, in the order the report shows them (DOMAIN.md §7). */
export const OPTIONAL_COLUMNS = {
  exception_status: 'Exception status',
  exception_type: 'Exception type',
  exception_handled_on: 'Exception handled on',
  handled_by: 'Handled by',
  reason: 'Reason',
  state: 'State',
  certified_on: 'Certified on',
  expires_on: 'Expires on',
  email: 'Email',
} as const;
export type OptionalColumn = keyof typeof OPTIONAL_COLUMNS;
export const OPTIONAL_COLUMN_KEYS = Object.keys(OPTIONAL_COLUMNS) as OptionalColumn[];

/** Columns read from the membership's latest exception (a lateral join, only when one is shown). */
const EXCEPTION_COLUMNS: OptionalColumn[] = ['exception_type', 'exception_handled_on', 'handled_by', 'reason'];

/**
 * Sort keys, each the column list of a partial index membership_report_* (Migration20261128040000),
 * so that first and last pages are index walks. `needs` names the optional column that must be shown.
 */
export const SORTS = {
  learner: { columns: ['m.learner_sort_name', 'm.id'] },
  idnumber: { columns: ['m.learner_id_number', 'm.id'] },
  assigned: { columns: ["coalesce(m.assigned_at, 'infinity'::timestamptz)", 'm.id'] },
  due: { columns: ["coalesce(m.due_at, 'infinity'::timestamptz)", 'm.id'] },
  exception_status: { columns: ['m.exception_status', 'm.learner_sort_name', 'm.id'], needs: 'exception_status' },
  state: { columns: ['m.report_state', 'm.learner_sort_name', 'm.id'], needs: 'state' },
  certified: { columns: ["coalesce(m.certified_at, 'infinity'::timestamptz)", 'm.id'], needs: 'certified_on' },
  expires: { columns: ["coalesce(m.expires_at, 'infinity'::timestamptz)", 'm.id'], needs: 'expires_on' },
} as const satisfies Record<string, { columns: readonly string[]; needs?: OptionalColumn }>;
export type SortKey = keyof typeof SORTS;

/** Everything the report shows, from the query string: the link that can be shared. */
export interface MembershipView {
  q: string;
  status: ExceptionStatus | null;
  columns: OptionalColumn[];
  sort: SortKey;
  dir: Direction;
}

export interface MembershipRow {
  id: number;
  learnerId: number;
  firstName: string;
  lastName: string;
  idNumber: string;
  email: string;
  assignedBy: string;
  assignedAt: Date | null;
  dueAt: Date | null;
  certifiedAt: Date | null;
  expiresAt: Date | null;
  exceptionStatus: ExceptionStatus;
  reportState: ReportState;
  exceptionType: string | null;
  handledAt: Date | null;
  handledBy: string | null;
  reason: string | null;
  key: CursorValue[];
}

/** Raw queries give timestamps as PostgreSQL text ("2026-03-04 10:00:00+00"). */
/** A row of the report as read (the key columns besides). */
interface MembershipDbRow extends Record<string, unknown> {
  id: number;
  learner_id: number;
  first_name: string;
  last_name: string;
  email: string;
  learner_id_number: string;
  assigned_by: string | null;
  assigned_at: Date | null;
  due_at: Date | null;
  certified_at: Date | null;
  expires_at: Date | null;
  exception_status: ExceptionStatus;
  report_state: ReportState;
  exception_type: string | null;
  handled_at: Date | null;
  handled_by: string | null;
  reason: string | null;
}

function asDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  const date = value instanceof Date ? value : new Date(value as string);
  return Number.isNaN(date.getTime()) ? null : date;
}

function isExceptionStatus(value: unknown): value is ExceptionStatus {
  return typeof value === 'string' && (EXCEPTION_STATUSES as string[]).includes(value);
}

/** Ticked columns arrive as repeated `columns` parameters (the form) or comma-separated (links). */
function parseColumns(raw: unknown): OptionalColumn[] {
  const given = new Set(
    ([] as unknown[])
      .concat(raw ?? [])
      .filter((v): v is string => typeof v === 'string')
      .flatMap((v) => v.split(','))
      .map((v) => v.trim()),
  );
  return OPTIONAL_COLUMN_KEYS.filter((column) => given.has(column));
}

export function parseView(query: Record<string, unknown>): MembershipView {
  const { q, sort, dir } = parseListView(query, SORTS, 'learner');
  const status = isExceptionStatus(query.status) ? query.status : null;
  const columns = parseColumns(query.columns);
  const needs = (SORTS[sort] as { needs?: OptionalColumn }).needs;
  // A column that is not shown cannot be the sort.
  return { q, status, columns, sort: needs && !columns.includes(needs) ? 'learner' : sort, dir };
}

/** The view as query parameters for links (defaults left out). */
export function viewQuery(view: MembershipView): Record<string, string | undefined> {
  return {
    q: view.q || undefined,
    status: view.status ?? undefined,
    columns: view.columns.length > 0 ? view.columns.join(',') : undefined,
    ...sortParams(view, 'learner'),
  };
}

@Injectable()
export class MembershipReportService {
  constructor(private readonly em: EntityManager) {}

  /** One keyset page of active memberships (read `limit` + 1 rows to know whether there is more). */
  async page(certificationId: number, view: MembershipView, page: PageQuery, limit: number): Promise<MembershipRow[]> {
    const read = this.pageRead(certificationId, view, page, limit);
    return read.rows(await new SqlRunner(this.em).rows(read.statement));
  }

  /** The statement of a page and how its rows are read (CertificationsService.pageWithRows runs it with the header). */
  pageRead(certificationId: number, view: MembershipView, page: PageQuery, limit: number): PageRead<MembershipRow> {
    const columns = [...SORTS[view.sort].columns];
    const keyset = keysetSql(columns, view.dir, page);
    const parts = [sql`m.certification_id = ${certificationId}`, sql`m.removed_at is null`];
    if (view.status) parts.push(sql`m.exception_status = ${view.status}`);
    if (view.q) parts.push(learnerMatchesSql('m.learner_id', view.q));
    const withException = view.columns.some((c) => EXCEPTION_COLUMNS.includes(c));
    const statement = sql`
      select m.id, m.learner_id, l.first_name, l.last_name, l.email, m.learner_id_number, m.learner_sort_name,
              m.assigned_at, m.due_at, m.certified_at, m.expires_at, m.exception_status, m.report_state,
              ${keyset.select}, ${keyset.rowNumber},
              (select string_agg(case a.kind when 'audience' then 'Audience: ' || au.name else 'Individual' end, ', '
                                 order by a.kind, au.name, a.id)
                 from membership_source ms
                 join assignment a on a.id = ms.assignment_id
                 left join audience au on au.id = a.audience_id
                where ms.membership_id = m.id) as assigned_by,
              ${withException ? sql`x.type as exception_type, x.handled_at, ${handledBySql('x', 's.display_name')} as handled_by, x.reason` : sql.raw('null as exception_type, null as handled_at, null as handled_by, null as reason')}
         from membership m
         join learner l on l.id = m.learner_id
         ${sql.raw(
           withException
             ? `left join lateral (
                  select e.type, e.status, e.handled_at, e.handled_by, e.reason from exception e
                   where e.membership_id = m.id order by e.raised_at desc, e.id desc limit 1) x on true
                left join staff s on s.id = x.handled_by`
             : '',
         )}
        where ${sql.join(parts, ' and ')} and ${keyset.where}
        order by ${keyset.orderBy}
        limit ${limit + 1}`;
    const rows = (read: Array<Record<string, unknown>>) =>
      (read as MembershipDbRow[]).map((r) => ({
        id: Number(r.id),
        learnerId: Number(r.learner_id),
        firstName: r.first_name,
        lastName: r.last_name,
        idNumber: r.learner_id_number,
        email: r.email,
        assignedBy: r.assigned_by ?? '',
        assignedAt: asDate(r.assigned_at),
        dueAt: asDate(r.due_at),
        certifiedAt: asDate(r.certified_at),
        expiresAt: asDate(r.expires_at),
        exceptionStatus: r.exception_status,
        reportState: r.report_state,
        exceptionType: r.exception_type,
        handledAt: asDate(r.handled_at),
        handledBy: r.handled_by,
        reason: r.reason,
        key: rowKey(r, columns.length),
      }));
    return { statement, rows };
  }

  /** Every matching row, a keyset page at a time, for the CSV download. */
  allPages(certificationId: number, view: MembershipView, pageSize = 2000): AsyncGenerator<MembershipRow[]> {
    return readAllPages((page, limit) => this.page(certificationId, view, page, limit), pageSize);
  }
}
