import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AppRequest, renderPage, seeOther } from '../common/http';
import { errorMap, FieldError, fieldError } from '../common/forms';
import { BulkActionDraftsService } from './bulk-action-drafts.service';
import { formatDateTime, pageTitle, plural } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { ACTION_LABELS } from './exception-rules';
import { BulkActionsService, BulkActionStatus, STATE_LABELS } from './bulk-actions.service';

const LIST_PAGE_SIZE = 50;
const MAX_REASON = 1000;
const FINISHED = new Set(['completed', 'completed_with_failures', 'failed']);

export interface ProgressView {
  id: number;
  state: string;
  stateLabel: string;
  processed: number;
  total: number;
  percent: number;
  finished: boolean;
  statusText: string;
  title: string;
}

@Controller('admin/bulk-actions')
export class BulkActionsController {
  constructor(
    private readonly bulk: BulkActionsService,
    private readonly drafts: BulkActionDraftsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query('before') before: string | undefined, @Res() res: Response) {
    const beforeId = before && /^\d{1,15}$/.test(before) ? Number(before) : null;
    const rows = await this.bulk.list(beforeId, LIST_PAGE_SIZE);
    const visible = rows.slice(0, LIST_PAGE_SIZE);
    renderPage(res, 'bulk-actions/list', {
      title: pageTitle(['Bulk actions']),
      rows: visible.map((row) => ({
        href: this.urls.to('/admin/bulk-actions/', row.id),
        action: ACTION_LABELS[row.action],
        certification: row.certificationName,
        selection: row.selectionLabel,
        by: row.createdByName,
        at: formatDateTime(row.createdAt),
        state: STATE_LABELS[row.state],
        progress: `${row.processed.toLocaleString('en-GB')} / ${row.total.toLocaleString('en-GB')}`,
      })),
      pagination: {
        firstHref: beforeId ? this.urls.to('/admin/bulk-actions') : undefined,
        nextHref: rows.length > LIST_PAGE_SIZE ? this.urls.withQuery('/admin/bulk-actions', { before: visible[visible.length - 1].id }) : undefined,
      },
    });
  }

  @Get(':id')
  async show(@Param('id', ParseIntPipe) id: number, @Query('refresh') refresh: string | undefined, @Res() res: Response) {
    await this.renderShow(res, id, refresh, {}, []);
  }

  /** Reopens every exception this bulk action handled, through a confirmation page and a bulk action of its own. */
  @Post(':id/reopen')
  async reopen(@Param('id', ParseIntPipe) id: number, @Body() body: Record<string, unknown>, @Req() req: AppRequest, @Res() res: Response) {
    const status = await this.load(id);
    const reason = typeof body.reason === 'string' ? body.reason.trim() : '';
    if ([...reason].length > MAX_REASON) {
      return this.renderShow(res, id, 'off', { reason }, [fieldError('reopen-reason', `Reason must be ${MAX_REASON} characters or fewer`)]);
    }
    if (status.action === 'reopen' || !FINISHED.has(status.state)) {
      return this.renderShow(res, id, 'off', { reason }, [fieldError('reopen', 'Only a finished action that handled exceptions can be undone')]);
    }
    const prepared = await this.drafts.prepareReopen(status.certificationId, req.staff!.id, reason || null, {
      mode: 'handled_by',
      bulkActionId: id,
      label: `The exceptions bulk action ${id} handled (${ACTION_LABELS[status.action]})`,
    });
    if ('error' in prepared) return this.renderShow(res, id, 'off', { reason }, [prepared.error]);
    seeOther(res, this.urls.withQuery(`/certifications/${status.certificationId}/exceptions/confirm/${prepared.token}`, { from: id }));
  }

  private async renderShow(res: Response, id: number, refresh: string | undefined, values: Record<string, unknown>, errors: FieldError[]) {
    const status = await this.load(id);
    const progress = this.progress(status);
    const failures = progress.finished && status.failed > 0 ? await this.bulk.failures(id) : [];
    const stopRefreshing = refresh === 'off';
    renderPage(res, 'bulk-actions/show', {
      title: progress.title,
      progress,
      actionLabel: ACTION_LABELS[status.action],
      certificationName: status.certificationName,
      selectionLabel: status.selectionLabel,
      reason: status.reason,
      by: status.createdByName,
      at: formatDateTime(status.createdAt),
      finishedAt: status.finishedAt ? formatDateTime(status.finishedAt) : null,
      outcomes: [
        { label: 'Applied', text: plural(status.applied, 'learner') },
        { label: 'Already handled', text: plural(status.alreadyHandled, 'learner') },
        { label: 'Failed', text: plural(status.failed, 'learner') },
      ],
      failures: failures.map((f: any) => ({ name: `${f.firstName} ${f.lastName}`, idNumber: f.idNumber, message: f.message })),
      failuresMore: status.failed > failures.length ? plural(status.failed - failures.length, 'more failure') : null,
      error: status.state === 'failed' ? status.error : null,
      refreshing: !progress.finished && !stopRefreshing,
      // Without JavaScript the page refreshes itself (in a <noscript>), with a link to stop it.
      refreshSeconds: !progress.finished && !stopRefreshing ? 3 : undefined,
      stopHref: this.urls.withQuery(`/admin/bulk-actions/${id}`, { refresh: 'off' }),
      resumeHref: this.urls.to('/admin/bulk-actions/', id),
      statusHref: this.urls.to('/admin/bulk-actions/', id, '/status'),
      reportHref: this.urls.to('/certifications/', status.certificationId, '/exceptions'),
      reopen:
        progress.finished && status.action !== 'reopen' && status.applied > 0 ? { action: this.urls.to('/admin/bulk-actions/', id, '/reopen') } : null,
      values,
      errors,
      fieldErrors: errorMap(errors),
    }, errors.length > 0 ? 409 : 200);
  }

  /** For the page's script: the same progress as the page shows, polled while running. */
  @Get(':id/status')
  async status(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
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
      statusText: `${stateLabel}: ${counts}.`,
      title: pageTitle([`${stateLabel} ${percent}%`, `Bulk action ${status.id}: ${heading}`]),
    };
  }
}
