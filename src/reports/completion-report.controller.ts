import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { readerZone, renderPage } from '../common/http';
import { csvDate, streamCsv, zonedHeader } from '../common/csv-export';
import { finishPage, pageQuery, PageLink } from '../common/keyset';
import { PAGE_SIZE, sortHeader, sortParams } from '../common/listing';
import { formatDate, plural } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { CertificationsService } from '../certifications/certifications.service';
import {
  COMPLETION_SORTS,
  CompletionReportService,
  CompletionRow,
  CompletionSort,
  CompletionView,
  parseCompletionView,
} from './completion-report.service';
import { countsForEveryState, REPORT_STATE_LABELS, REPORT_STATES } from './report-states';

const SORT_LABELS: Record<CompletionSort, string> = {
  learner: 'Learner',
  idnumber: 'ID number',
  state: 'State',
  due: 'Due date',
  certified: 'Certified on',
  expires: 'Expires on',
};

/** The CSV's header: its date columns are days of the reader's zone, which they name. */
const csvHeader = (zone: string) => [
  'Learner',
  'ID number',
  'State',
  zonedHeader('Due date', zone),
  zonedHeader('Certified on', zone),
  zonedHeader('Expires on', zone),
];

@Controller('certifications/:id')
export class CompletionReportController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly report: CompletionReportService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get('completion')
  async show(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    if (query.format === 'csv') return this.download(id, query, res);
    await this.renderReport(res, id, query);
  }

  @Get('completion.csv')
  async csv(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.download(id, query, res);
  }

  private async download(id: number, query: Record<string, unknown>, res: Response) {
    const page = await this.certifications.page(id, 'completion'); // 404 for an unknown certification
    const view = parseCompletionView(query);
    const zone = readerZone(res);
    await streamCsv(res, `completion-report-${page.certification.shortName}.csv`, csvHeader(zone), this.report.allRows(id, view), (row) => [
      `${row.firstName} ${row.lastName}`,
      row.idNumber,
      REPORT_STATE_LABELS[row.state],
      csvDate(row.dueAt, zone),
      csvDate(row.certifiedAt, zone),
      csvDate(row.expiresAt, zone),
    ]);
  }

  /** The query string of a view, leaving out the defaults. */
  private viewQuery(view: CompletionView) {
    return {
      q: view.q,
      state: view.state ?? undefined,
      ...sortParams(view, 'learner'),
    };
  }

  private async renderReport(res: Response, id: number, query: Record<string, unknown>) {
    const view = parseCompletionView(query);
    const base = `/certifications/${id}/completion`;
    const viewQuery = this.viewQuery(view);
    const pq = pageQuery(query, COMPLETION_SORTS[view.sort]);
    const [{ page, rows }, searchCounts] = await Promise.all([
      this.certifications.pageWithRows(id, 'completion', this.report.pageRead(id, view, pq)),
      view.q ? this.report.searchCountsByState(id, view.q) : null,
    ]);
    const counts = searchCounts ?? countsForEveryState(page.membersByState);
    const hrefFor = (link: PageLink) => this.urls.withQuery(base, { ...viewQuery, ...link });
    const total = REPORT_STATES.reduce((n, state) => n + counts[state], 0);
    const matching = view.state ? counts[view.state] : total;
    const paged = finishPage(rows, PAGE_SIZE, pq, (row: CompletionRow) => row.key, hrefFor, matching);
    const filtered = Boolean(view.q || view.state);

    const headers = (Object.keys(COMPLETION_SORTS) as CompletionSort[]).map((key) =>
      sortHeader(this.urls, base, SORT_LABELS[key], key, view, viewQuery),
    );

    renderPage(res, 'reports/completion', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      reportHref: this.urls.to(base),
      csvHref: this.urls.withQuery(`${base}.csv`, viewQuery),
      exemptHref: this.urls.withQuery(`/certifications/${id}/exemptions/new`, { q: view.q || undefined, state: view.state ?? undefined }),
      view: { q: view.q, sort: view.sort, dir: view.dir },
      stateOptions: REPORT_STATES.map((state) => ({ value: state, label: REPORT_STATE_LABELS[state], selected: view.state === state })),
      stateCounts: REPORT_STATES.map((state) => ({
        label: REPORT_STATE_LABELS[state],
        count: counts[state],
        href: this.urls.withQuery(base, { ...viewQuery, state }),
        current: view.state === state,
      })),
      allHref: this.urls.withQuery(base, { ...viewQuery, state: undefined }),
      allCurrent: !view.state,
      totalCount: total,
      matchingText: plural(matching, 'learner'),
      caption: [view.state ? `Learners: ${REPORT_STATE_LABELS[view.state]}` : 'Learners', view.q ? ` matching “${view.q}”` : ''].join(''),
      filtered,
      headers,
      rows: paged.rows.map((row) => ({
        id: row.id,
        name: `${row.firstName} ${row.lastName}`,
        idNumber: row.idNumber,
        stateLabel: REPORT_STATE_LABELS[row.state],
        due: formatDate(row.dueAt, readerZone(res)),
        certified: formatDate(row.certifiedAt, readerZone(res)),
        expires: formatDate(row.expiresAt, readerZone(res)),
      })),
      pagination: paged.pagination,
    });
  }
}
