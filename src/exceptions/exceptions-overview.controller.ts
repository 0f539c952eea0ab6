import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { csvDate, streamCsv, zonedHeader } from '../common/csv-export';
import { readerZone, renderPage } from '../common/http';
import { finishPage, PageLink, pageQuery } from '../common/keyset';
import { PAGE_SIZE, searchCaption, sortHeader, sortParams } from '../common/listing';
import { daysSince } from '../common/time-zone';
import { UrlBuilder } from '../common/url';
import { formatDate, formatNumber, pageTitle, plural } from '../common/view-helpers';
import { AGE_BUCKETS, AGE_LABELS, AGE_PHRASES, AgeBucket, ageText } from './exception-age';
import { ACTION_LABELS, EXCEPTION_TYPES, TYPE_LABELS } from './exception-rules';
import {
  ExceptionsOverviewService,
  OVERVIEW_SORTS,
  OverviewRow,
  OverviewSort,
  OverviewView,
  parseOverviewView,
  UnfinishedBulkAction,
} from './exceptions-overview.service';

const BASE = '/exceptions';

const SORT_LABELS: Record<OverviewSort, string> = {
  name: 'Certification',
  open: 'Open',
  ...TYPE_LABELS,
  ...AGE_LABELS,
  oldest: 'Oldest open',
};

/** A count's cell: the number, linked to the certification's report showing those rows when there are any. */
interface CountCell {
  text: string;
  href: string | null;
  /** Read after the number by a screen reader: what the rows are, and where. */
  hidden: string;
}

function unfinishedText(b: UnfinishedBulkAction): string {
  return b.state === 'queued'
    ? `${ACTION_LABELS[b.action]}: queued`
    : `${ACTION_LABELS[b.action]}: running, ${formatNumber(b.processed)} of ${plural(b.total, 'learner')} processed`;
}

/**
 * Exceptions across certifications: each certification with open exceptions, its open count by
 * type and by age, its oldest open exception and its unfinished bulk actions; each count leads to
 * the certification's Exception report filtered to the same rows.
 */
@Controller()
export class ExceptionsOverviewController {
  constructor(
    private readonly overview: ExceptionsOverviewService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get('exceptions')
  async show(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const zone = readerZone(res);
    const now = new Date();
    const view = parseOverviewView(query);
    const pq = pageQuery(query, OVERVIEW_SORTS[view.sort]);
    const { rows, total } = await this.overview.page(view, zone, pq, PAGE_SIZE, now);
    const viewQuery = this.viewQuery(view);
    const hrefFor = (link: PageLink) => this.urls.withQuery(BASE, { ...viewQuery, ...link });
    const paged = finishPage(rows, PAGE_SIZE, pq, (row) => row.key, hrefFor, total);
    const numeric = (key: OverviewSort) => key !== 'name';
    renderPage(res, 'exceptions/overview', {
      title: pageTitle(['Exceptions']),
      action: this.urls.to(BASE),
      q: view.q,
      sort: view.sort === 'name' ? '' : view.sort,
      dir: view.dir === 'asc' ? '' : view.dir,
      caption: searchCaption('Certifications with open exceptions', view.q),
      summary:
        plural(total, 'certification') + ' with open exceptions' + (view.q ? ` ${total === 1 ? 'matches' : 'match'} “${view.q}”` : ''),
      csvHref: this.urls.withQuery(`${BASE}.csv`, viewQuery),
      headers: (Object.keys(OVERVIEW_SORTS) as OverviewSort[]).map((key) => ({
        ...sortHeader(this.urls, BASE, SORT_LABELS[key], key, view, { q: view.q || undefined }, 'name'),
        numeric: numeric(key),
        orderNote: key === 'oldest' && view.sort === 'oldest' ? (view.dir === 'asc' ? 'oldest first' : 'newest first') : null,
      })),
      rows: paged.rows.map((row) => this.rowView(row, zone, now)),
      pagination: paged.pagination,
    });
  }

  @Get('exceptions.csv')
  async csv(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const zone = readerZone(res);
    const now = new Date();
    const view = parseOverviewView(query);
    const header = [
      'Certification',
      'Short name',
      'Open',
      ...EXCEPTION_TYPES.map((type) => TYPE_LABELS[type]),
      ...AGE_BUCKETS.map((bucket) => AGE_LABELS[bucket]),
      zonedHeader('Oldest open raised', zone),
      'Bulk actions unfinished',
    ];
    await streamCsv(res, 'exceptions-overview.csv', header, this.overview.allRows(view, zone, now), (row) => [
      row.fullName,
      row.shortName,
      row.open,
      ...EXCEPTION_TYPES.map((type) => row.byType[type]),
      ...AGE_BUCKETS.map((bucket) => row.byAge[bucket]),
      csvDate(row.oldestRaisedAt, zone),
      row.unfinished.length,
    ]);
  }

  private viewQuery(view: OverviewView) {
    return { q: view.q || undefined, ...sortParams(view, 'name') };
  }

  private rowView(row: OverviewRow, zone: string, now: Date) {
    const report = `/certifications/${row.id}/exceptions`;
    const cell = (count: number, filter: Record<string, string>, what: string): CountCell => ({
      text: formatNumber(count),
      href: count > 0 ? this.urls.withQuery(report, filter) : null,
      hidden: ` ${what} in ${row.fullName}`,
    });
    return {
      name: row.fullName,
      reportHref: this.urls.to(report),
      open: cell(row.open, {}, 'open exceptions'),
      types: EXCEPTION_TYPES.map((type) => cell(row.byType[type], { type }, `${TYPE_LABELS[type].toLowerCase()} issues`)),
      ages: AGE_BUCKETS.map((bucket: AgeBucket) => cell(row.byAge[bucket], { age: bucket }, `open exceptions ${AGE_PHRASES[bucket]}`)),
      oldest: {
        age: ageText(daysSince(row.oldestRaisedAt, now, zone)),
        date: formatDate(row.oldestRaisedAt, zone),
        // The report sorted by Raised, ascending: the oldest first.
        href: this.urls.withQuery(report, { sort: 'raised' }),
      },
      unfinished: row.unfinished.map((b) => ({ text: unfinishedText(b), href: this.urls.to('/admin/bulk-actions/', b.id) })),
    };
  }
}
