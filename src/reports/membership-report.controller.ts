import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { csvDate, streamCsv, zonedHeader } from '../common/csv-export';
import { pageQuery, PageLink, finishPage } from '../common/keyset';
import { readerZone, renderPage } from '../common/http';
import { PAGE_SIZE, searchCaption, sortHeader } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { formatDate } from '../common/view-helpers';
import { CertificationsService } from '../certifications/certifications.service';
import { ExceptionType, TYPE_LABELS } from '../exceptions/exception-rules';
import { EXCEPTION_STATUSES, EXCEPTION_STATUS_LABELS, REPORT_STATE_LABELS } from './report-states';
import {
  MembershipReportService,
  MembershipRow,
  MembershipView,
  OPTIONAL_COLUMN_KEYS,
  OPTIONAL_COLUMNS,
  OptionalColumn,
  parseView,
  SORTS,
  SortKey,
  viewQuery,
} from './membership-report.service';

interface Column {
  label: string;
  sort?: SortKey;
  /**
   * The cell as text, or a moment: shown as a date of the reader's zone on the page, and as its day
   * (YYYY-MM-DD) in that zone in the CSV, whose header names the zone.
   */
  value: (row: MembershipRow) => string | Date | null;
  /** A column of moments. */
  date?: boolean;
}

const DEFAULT_COLUMNS: Column[] = [
  { label: 'Learner', sort: 'learner', value: (r) => `${r.firstName} ${r.lastName}` },
  { label: 'ID number', sort: 'idnumber', value: (r) => r.idNumber },
  { label: 'Assigned by', value: (r) => r.assignedBy },
  { label: 'Assigned on', sort: 'assigned', value: (r) => r.assignedAt, date: true },
  { label: 'Due date', sort: 'due', value: (r) => r.dueAt, date: true },
];

const CHOSEN_COLUMNS: Record<OptionalColumn, Column> = {
  exception_status: {
    label: OPTIONAL_COLUMNS.exception_status,
    sort: 'exception_status',
    value: (r) => EXCEPTION_STATUS_LABELS[r.exceptionStatus],
  },
  exception_type: {
    label: OPTIONAL_COLUMNS.exception_type,
    value: (r) => (r.exceptionType ? (TYPE_LABELS[r.exceptionType as ExceptionType] ?? r.exceptionType) : ''),
  },
  exception_handled_on: { label: OPTIONAL_COLUMNS.exception_handled_on, value: (r) => r.handledAt, date: true },
  handled_by: { label: OPTIONAL_COLUMNS.handled_by, value: (r) => r.handledBy ?? '' },
  reason: { label: OPTIONAL_COLUMNS.reason, value: (r) => r.reason ?? '' },
  state: { label: OPTIONAL_COLUMNS.state, sort: 'state', value: (r) => REPORT_STATE_LABELS[r.reportState] ?? r.reportState },
  certified_on: { label: OPTIONAL_COLUMNS.certified_on, sort: 'certified', value: (r) => r.certifiedAt, date: true },
  expires_on: { label: OPTIONAL_COLUMNS.expires_on, sort: 'expires', value: (r) => r.expiresAt, date: true },
  email: { label: OPTIONAL_COLUMNS.email, value: (r) => r.email },
};

function columnsOf(view: MembershipView): Column[] {
  return [...DEFAULT_COLUMNS, ...view.columns.map((c) => CHOSEN_COLUMNS[c])];
}

/** The Membership report tab (DOMAIN.md §7): chosen columns, filter, search, sort, keyset pages, CSV. */
@Controller('certifications/:id')
export class MembershipReportController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly report: MembershipReportService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get('membership')
  async show(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const view = parseView(query);
    const base = `/certifications/${id}/membership`;
    const keep = viewQuery(view);
    const pq = pageQuery(query, SORTS[view.sort].columns);
    const filtered = Boolean(view.q || view.status);
    const { page, rows } = await this.certifications.pageWithRows(id, 'membership', this.report.pageRead(id, view, pq, PAGE_SIZE));
    // Only the whole list has a kept count; a search or filter would have to count its rows.
    const total = filtered ? null : Object.values(page.membersByState).reduce((sum, n) => sum + n, 0);
    const hrefFor = (link: PageLink) => this.urls.withQuery(base, { ...keep, ...link });
    const paged = finishPage(rows, PAGE_SIZE, pq, (row) => row.key, hrefFor, total);
    const columns = columnsOf(view);

    renderPage(res, 'reports/membership', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      reportHref: this.urls.to(base),
      view: { q: view.q, sort: view.sort, dir: view.dir },
      statusOptions: EXCEPTION_STATUSES.map((status) => ({
        value: status,
        label: EXCEPTION_STATUS_LABELS[status],
        selected: view.status === status,
      })),
      columnOptions: OPTIONAL_COLUMN_KEYS.map((key) => ({ value: key, label: OPTIONAL_COLUMNS[key], checked: view.columns.includes(key) })),
      headers: columns.map((column) => {
        if (!column.sort) return { label: column.label };
        return sortHeader(this.urls, base, column.label, column.sort, view, keep, 'learner');
      }),
      rows: paged.rows.map((row) => {
        const [learner, ...rest] = columns.map((column) => column.value(row));
        return {
          learner,
          learnerHref: this.urls.to('/learners/', row.learnerId),
          cells: rest.map((value) => (value instanceof Date ? formatDate(value, readerZone(res)) : (value ?? ''))),
        };
      }),
      pagination: paged.pagination,
      caption: searchCaption('Memberships', view.q) + (view.status ? ` with exception status ${EXCEPTION_STATUS_LABELS[view.status]}` : ''),
      filtered,
      clearable: filtered || view.columns.length > 0,
      csvHref: this.urls.withQuery(`${base}.csv`, keep),
    });
  }

  /** The CSV of every matching row with exactly the chosen columns, filter and sort, streamed page by page. */
  @Get('membership.csv')
  async csv(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'membership');
    const view = parseView(query);
    const columns = columnsOf(view);
    const zone = readerZone(res);
    await streamCsv(
      res,
      `membership-report-${page.certification.shortName}.csv`,
      columns.map((c) => (c.date ? zonedHeader(c.label, zone) : c.label)),
      this.report.allPages(id, view),
      (row) =>
        columns.map((column) => {
          const value = column.value(row);
          return column.date ? csvDate(value, zone) : (value ?? '');
        }),
    );
  }
}
