import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { BigIdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AppRequest, readerZone, renderPage, seeOther } from '../common/http';
import { errorMap, FieldError, fieldError } from '../common/forms';
import { BulkActionDraftsService } from './bulk-action-drafts.service';
import { csvDate, streamCsv, zonedHeader } from '../common/csv-export';
import { finishPage, PageLink, pageQuery } from '../common/keyset';
import { PAGE_SIZE, searchCaption, searchTerm } from '../common/listing';
import { formatDate, formatDateTime, pageTitle, plural } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { ACTION_LABELS } from './exception-rules';
import { BulkActionQueriesService, BulkActionStatus, STATE_LABELS } from './bulk-action-queries.service';
import { BulkActionItemsService, CHANGED_LEARNER_KEY_COLUMNS, ChangedLearnerRow } from './bulk-action-items';

const MAX_REASON = 1000;
const FINISHED = new Set(['completed', 'completed_with_failures', 'failed']);
/**
 * Without JavaScript a running action's page refreshes itself no more often than this, so that a
 * screen reader is not sent back to the top every few seconds (WCAG 2.2.1), and can be stopped.
 */
const NO_SCRIPT_REFRESH_SECONDS = 15;
const OUTCOME_LABELS: Record<ChangedLearnerRow['outcome'], string> = { applied: 'Applied' };
const changedCsvHeader = (zone: string) => [
  'Learner',
  'ID number',
  'Outcome',
  zonedHeader('Due date before', zone),
  zonedHeader('Due date after', zone),
];

export interface ProgressView {
  id: number;
  state: string;
  stateLabel: string;
  processed: number;
  total: number;
  percent: number;
  finished: boolean;
  /** For the live region; once finished, with the counts by outcome. */
  statusText: string;
  title: string;
}

@Controller('admin/bulk-actions')
export class BulkActionsController {
  constructor(
    private readonly bulk: BulkActionQueriesService,
    private readonly items: BulkActionItemsService,
    private readonly drafts: BulkActionDraftsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const before = query.before;
    const beforeId = typeof before === 'string' && /^\d{1,15}$/.test(before) ? Number(before) : null;
    const rows = await this.bulk.list(beforeId, PAGE_SIZE);
    const visible = rows.slice(0, PAGE_SIZE);
    // Where the page starts, carried in the Next page link (the first page starts at 1).
    const from = beforeId === null ? 1 : typeof query.from === 'string' && /^[1-9]\d{0,8}$/.test(query.from) ? Number(query.from) : null;
    const count = (n: number) => n.toLocaleString('en-GB');
    renderPage(res, 'bulk-actions/list', {
      title: pageTitle(['Bulk actions']),
      rows: visible.map((row) => ({
        href: this.urls.to('/admin/bulk-actions/', row.id),
        action: ACTION_LABELS[row.action],
        certification: row.certificationName,
        selection: row.selectionLabel,
        by: row.createdByName,
        at: formatDateTime(row.createdAt, readerZone(res)),
        state: STATE_LABELS[row.state],
        progress: `${row.processed.toLocaleString('en-GB')} / ${row.total.toLocaleString('en-GB')}`,
      })),
      pagination: {
        position:
          visible.length === 0
            ? undefined
            : from === null
              ? `Showing ${count(visible.length)}`
              : `Showing ${count(from)}–${count(from + visible.length - 1)}`,
        firstHref: beforeId ? this.urls.to('/admin/bulk-actions') : undefined,
        nextHref:
          rows.length > PAGE_SIZE
            ? this.urls.withQuery('/admin/bulk-actions', {
                before: visible[visible.length - 1].id,
                from: from === null ? undefined : from + visible.length,
              })
            : undefined,
      },
    });
  }

  @Get(':id')
  async show(@Param('id', BigIdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.renderShow(res, id, query, {}, []);
  }

  /** Reopens every exception this bulk action handled, through a confirmation page and a bulk action of its own. */
  @Post(':id/reopen')
  async reopen(@Param('id', BigIdPipe) id: number, @Body() body: Record<string, unknown>, @Req() req: AppRequest, @Res() res: Response) {
    const status = await this.load(id);
    const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
    const again = (error: FieldError) => this.renderShow(res, id, { refresh: 'off' }, { reason }, [error]);
    if ([...reason].length > MAX_REASON) return again(fieldError('reopen-reason', `Reason must be ${MAX_REASON} characters or fewer`));
    if (status.action === 'reopen' || !FINISHED.has(status.state)) {
      return again(fieldError('reopen', 'Only a finished action that handled exceptions can be undone'));
    }
    const prepared = await this.drafts.prepareReopen(status.certificationId, req.staff!.id, reason || null, {
      mode: 'handled_by',
      bulkActionId: id,
      label: `The exceptions bulk action ${id} handled (${ACTION_LABELS[status.action]})`,
    });
    if ('error' in prepared) return again(prepared.error);
    seeOther(res, this.urls.withQuery(`/certifications/${status.certificationId}/exceptions/confirm/${prepared.token}`, { from: id }));
  }

  private async renderShow(
    res: Response,
    id: number,
    query: Record<string, unknown>,
    values: Record<string, unknown>,
    errors: FieldError[],
  ) {
    const status = await this.load(id);
    const progress = this.progress(status);
    const failures = progress.finished && status.failed > 0 ? await this.bulk.failures(id) : [];
    const stopRefreshing = query.refresh === 'off';
    const refreshing = !progress.finished && !stopRefreshing;
    const changed = await this.changedLearners(id, status, query, readerZone(res));
    const stopHref = this.urls.withQuery(`/admin/bulk-actions/${id}`, { refresh: 'off' });
    const resumeHref = this.urls.to('/admin/bulk-actions/', id);
    renderPage(
      res,
      'bulk-actions/show',
      {
        title: progress.title,
        progress,
        actionLabel: ACTION_LABELS[status.action],
        certificationName: status.certificationName,
        selectionLabel: status.selectionLabel,
        reason: status.reason,
        by: status.createdByName,
        at: formatDateTime(status.createdAt, readerZone(res)),
        finishedAt: status.finishedAt ? formatDateTime(status.finishedAt, readerZone(res)) : null,
        outcomes: [
          { label: 'Applied', text: plural(status.applied, 'learner') },
          { label: 'Already handled', text: plural(status.alreadyHandled, 'learner') },
          { label: 'Failed', text: plural(status.failed, 'learner') },
        ],
        changed,
        failures: failures.map((f) => ({ name: `${f.firstName} ${f.lastName}`, idNumber: f.idNumber, message: f.message })),
        failuresMore: status.failed > failures.length ? plural(status.failed - failures.length, 'more failure') : null,
        error: status.state === 'failed' ? status.error : null,
        refreshing,
        stopped: !progress.finished && stopRefreshing,
        // Without JavaScript the page refreshes itself (in a <noscript>), with a link to stop it.
        refreshSeconds: refreshing ? NO_SCRIPT_REFRESH_SECONDS : undefined,
        stopHref,
        resumeHref,
        // Checking progress by hand keeps the page's refreshing as the reader left it.
        checkHref: stopRefreshing ? stopHref : resumeHref,
        statusHref: this.urls.to('/admin/bulk-actions/', id, '/status'),
        reportHref: this.urls.to('/certifications/', status.certificationId, '/exceptions'),
        reopen:
          progress.finished && status.action !== 'reopen' && status.applied > 0
            ? { action: this.urls.to('/admin/bulk-actions/', id, '/reopen') }
            : null,
        values,
        errors,
        fieldErrors: errorMap(errors),
      },
      errors.length > 0 ? 409 : 200,
    );
  }

  /** The learners the action changed, as CSV: the same rows and search as the page, every page. */
  @Get(':id/learners.csv')
  async changedCsv(@Param('id', BigIdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.load(id);
    const q = searchTerm(query.q);
    const zone = readerZone(res);
    await streamCsv(res, `bulk-action-${id}-learners.csv`, changedCsvHeader(zone), this.items.allChangedLearners(id, q), (row) => [
      `${row.firstName} ${row.lastName}`,
      row.idNumber,
      OUTCOME_LABELS[row.outcome],
      csvDate(row.dueBefore, zone),
      csvDate(row.dueAfter, zone),
    ]);
  }

  private async changedLearners(id: number, status: BulkActionStatus, query: Record<string, unknown>, zone: string) {
    const q = searchTerm(query.q);
    const pq = pageQuery(query, CHANGED_LEARNER_KEY_COLUMNS);
    const base = `/admin/bulk-actions/${id}`;
    const keep = { q, refresh: query.refresh === 'off' ? 'off' : undefined };
    const rows = await this.items.changedLearners(id, q, pq, PAGE_SIZE);
    const hrefFor = (link: PageLink) => `${this.urls.withQuery(base, { ...keep, ...link })}#changed-learners`;
    // The applied count is kept on the bulk action; a search would have to count its matches.
    const paged = finishPage(rows, PAGE_SIZE, pq, (row) => row.key, hrefFor, q ? null : status.applied);
    return {
      shown: status.applied > 0 || q !== '',
      q,
      searchHref: this.urls.to(base),
      clearHref: q ? this.urls.to(base) + '#changed-learners' : null,
      caption: searchCaption('Learners changed', q),
      csvHref: this.urls.withQuery(`${base}/learners.csv`, { q }),
      rows: paged.rows.map((row) => ({
        name: `${row.firstName} ${row.lastName}`,
        href: this.urls.to('/learners/', row.learnerId),
        idNumber: row.idNumber,
        outcome: OUTCOME_LABELS[row.outcome],
        dueBefore: row.dueBefore ? formatDate(row.dueBefore, zone) : 'None',
        dueAfter: row.dueAfter ? formatDate(row.dueAfter, zone) : 'None',
      })),
      pagination: paged.pagination,
    };
  }

  /** For the page's script: the same progress as the page shows, polled while running. */
  @Get(':id/status')
  async status(@Param('id', BigIdPipe) id: number, @Res() res: Response) {
    res.set('Cache-Control', 'no-store').json(this.progress(await this.load(id)));
  }

  private async load(id: number): Promise<BulkActionStatus> {
    const status = await this.bulk.status(id);
    if (!status) throw new NotFoundException();
    return status;
  }

  private progress(status: BulkActionStatus): ProgressView {
    const percent = status.total > 0 ? Math.floor((status.processed / status.total) * 100) : FINISHED.has(status.state) ? 100 : 0;
    const stateLabel = STATE_LABELS[status.state];
    const counts = `${status.processed.toLocaleString('en-GB')} of ${plural(status.total, 'learner')} processed`;
    const heading = `${ACTION_LABELS[status.action]} – ${status.certificationName}`;
    return {
      id: status.id,
      state: status.state,
      stateLabel,
      processed: status.processed,
      total: status.total,
      percent,
      finished: FINISHED.has(status.state),
      statusText: FINISHED.has(status.state)
        ? `${stateLabel}: ${counts}. Applied: ${plural(status.applied, 'learner')}, already handled: ${plural(status.alreadyHandled, 'learner')}, failed: ${plural(status.failed, 'learner')}.`
        : `${stateLabel}: ${counts}.`,
      title: pageTitle([`${stateLabel} ${percent}%`, `Bulk action ${status.id}: ${heading}`]),
    };
  }
}
