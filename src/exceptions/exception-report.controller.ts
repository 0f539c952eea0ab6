import { Body, Controller, Get, Inject, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AppRequest, readerZone, renderPage, seeOther } from '../common/http';
import { FieldError, errorMap, fieldError } from '../common/forms';
import { finishPage, pageQuery, PageLink } from '../common/keyset';
import { PAGE_SIZE, sortHeader, sortParams } from '../common/listing';
import { formatDate, plural } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { CertificationsService } from '../certifications/certifications.service';
import {
  ACTION_LABELS,
  BULK_ACTIONS,
  BulkActionName,
  conditionLabel,
  EXCEPTION_TYPES,
  ExceptionType,
  isBulkAction,
  isExceptionType,
  TYPE_LABELS,
} from './exception-rules';
import { ExceptionReportService, parseView, ReportView, SEARCH_COUNT_LIMIT, SORTS, SortKey } from './exception-report.service';
import { Selection } from './selection';
import { BulkActionsService, SelectionRefused } from './bulk-actions.service';
import { BulkActionQueriesService } from './bulk-action-queries.service';
import { BulkActionDraftsService, Draft, isExpired } from './bulk-action-drafts.service';
import { describeEvidence } from './evidence';
import { AGE_BUCKETS, AGE_LABELS, AGE_PHRASES, ageText } from './exception-age';
import { daysSince } from '../common/time-zone';

const SORT_LABELS: Record<SortKey, string> = { learner: 'Learner', idnumber: 'ID number', issue: 'Issue', raised: 'Raised' };
const MAX_TICKED = 500;
const MAX_REASON = 1000;

interface BulkAnswers {
  select: string;
  action: string;
  reason: string;
  ticked: number[];
}

function typeCounts(counts: Partial<Record<ExceptionType, number>>) {
  return EXCEPTION_TYPES.filter((type) => (counts[type] ?? 0) > 0).map((type) => ({
    label: TYPE_LABELS[type],
    count: counts[type]!,
    text: plural(counts[type]!, TYPE_LABELS[type].toLowerCase() + ' issue'),
  }));
}

@Controller('certifications/:id/exceptions')
export class ExceptionReportController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly report: ExceptionReportService,
    private readonly bulk: BulkActionsService,
    private readonly bulkQueries: BulkActionQueriesService,
    private readonly drafts: BulkActionDraftsService,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async show(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.renderReport(res, id, query, { select: 'none', action: '', reason: '', ticked: [] }, []);
  }

  @Post('bulk')
  async bulkAction(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Body() body: Record<string, unknown>, @Res() res: Response) {
    const view = parseView(body, readerZone(res));
    const answers: BulkAnswers = {
      select: typeof body.select === 'string' ? body.select : 'none',
      action: typeof body.action === 'string' ? body.action : '',
      reason: typeof body.reason === 'string' ? body.reason.trim() : '',
      ticked: ([] as unknown[])
        .concat(body.ids ?? [])
        .map((v) => Number(v))
        .filter((n) => Number.isSafeInteger(n) && n > 0),
    };
    answers.ticked = [...new Set(answers.ticked)];
    const errors: FieldError[] = [];

    let selection: (Selection & { label: string }) | null = null;
    if (answers.select === 'none') {
      if (answers.ticked.length === 0) errors.push(fieldError('select', 'Select at least one learner, or choose who to select in Select'));
      else if (answers.ticked.length > MAX_TICKED)
        errors.push(fieldError('select', `Tick at most ${MAX_TICKED} learners, or choose a condition in Select`));
      else selection = { mode: 'ids', ids: answers.ticked, label: plural(answers.ticked.length, 'ticked learner') };
    } else if (answers.select === 'all' || isExceptionType(answers.select)) {
      const condition = answers.select;
      const label = [
        condition === 'all' ? 'All learners' : conditionLabel(condition),
        view.age ? AGE_PHRASES[view.age.bucket] : '',
        view.q ? `matching “${view.q}”` : '',
      ];
      selection = {
        mode: 'condition',
        condition,
        filter: { q: view.q, type: view.type, age: view.age },
        label: label.filter(Boolean).join(' '),
      };
    } else {
      errors.push(fieldError('select', 'Choose who to select'));
    }
    if (!isBulkAction(answers.action)) errors.push(fieldError('action', 'Choose an action'));
    if (answers.reason.length > MAX_REASON) errors.push(fieldError('reason', `Reason must be ${MAX_REASON} characters or fewer`));

    let token: string | null = null;
    if (selection && errors.length === 0) {
      await this.certifications.page(id, 'exceptions');
      const prepared = await this.drafts.prepare(id, req.staff!.id, answers.action as BulkActionName, answers.reason || null, selection);
      if ('error' in prepared) errors.push(prepared.error);
      else token = prepared.token;
    }
    if (!token) {
      return this.renderReport(
        res,
        id,
        { ...body, q: view.q, type: view.type ?? '', age: view.age?.bucket ?? '', sort: view.sort, dir: view.dir },
        answers,
        errors,
        400,
      );
    }
    seeOther(res, this.urls.withQuery(`/certifications/${id}/exceptions/confirm/${token}`, this.viewQuery(view)));
  }

  @Get('confirm/:token')
  async confirmPage(
    @Param('id', IdPipe) id: number,
    @Param('token') token: string,
    @Query() query: Record<string, unknown>,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    const draft = await this.openDraft(res, id, token, req, query);
    if (draft) await this.renderConfirm(res, id, draft, query, []);
  }

  @Post('confirm/:token')
  async confirm(
    @Param('id', IdPipe) id: number,
    @Param('token') token: string,
    @Body() body: Record<string, unknown>,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    const draft = await this.openDraft(res, id, token, req, body);
    if (!draft) return;
    try {
      const bulkActionId = await this.bulk.confirm(draft);
      seeOther(res, this.urls.to('/admin/bulk-actions/', bulkActionId));
    } catch (error) {
      if (!(error instanceof SelectionRefused)) throw error;
      const again = await this.drafts.find(token, id, req.staff!.id);
      if (again?.bulkActionId) return seeOther(res, this.urls.to('/admin/bulk-actions/', again.bulkActionId));
      await this.renderConfirm(res, id, draft, body, [fieldError('selection', error.message)], 409);
    }
  }

  /**
   * The signed-in person's draft behind a confirm link, still to be confirmed; null when the
   * response is given already: the bulk action it started, or the page saying it has expired.
   */
  private async openDraft(
    res: Response,
    id: number,
    token: string,
    req: AppRequest,
    values: Record<string, unknown>,
  ): Promise<Draft | null> {
    const draft = await this.drafts.find(token, id, req.staff!.id);
    if (!draft) throw new NotFoundException();
    if (draft.used && draft.bulkActionId) {
      seeOther(res, this.urls.to('/admin/bulk-actions/', draft.bulkActionId));
      return null;
    }
    if (isExpired(draft)) {
      await this.renderExpired(res, id, draft, values);
      return null;
    }
    return draft;
  }

  private viewQuery(view: ReportView) {
    return {
      q: view.q,
      type: view.type ?? undefined,
      age: view.age?.bucket,
      ...sortParams(view, 'learner'),
    };
  }

  private async renderReport(
    res: Response,
    id: number,
    query: Record<string, unknown>,
    answers: BulkAnswers,
    errors: FieldError[],
    status = 200,
  ) {
    const zone = readerZone(res);
    const now = new Date();
    const view = parseView(query, zone, now);
    const base = `/certifications/${id}/exceptions`;
    const viewQuery = this.viewQuery(view);
    const pq = pageQuery(query, SORTS[view.sort]);
    const [{ page, rows }, searchCounts] = await Promise.all([
      this.certifications.pageWithRows(id, 'exceptions', this.report.pageRead(id, view, pq)),
      // Without a search or an age filter, the open counts the page header reads are the counts by type.
      view.q || view.age ? this.report.searchCounts(id, { q: view.q, type: view.type, age: view.age }) : undefined,
    ]);
    const unfinished = page.bulkActionsUnfinished ? await this.bulkQueries.unfinished(id) : [];
    const hrefFor = (link: PageLink) => this.urls.withQuery(base, { ...viewQuery, ...link });
    // null: a search matching more than SEARCH_COUNT_LIMIT, whose counts the confirmation page gives.
    const counts = searchCounts === undefined ? page.openByType : searchCounts;
    const visibleCounts = counts && view.type ? { [view.type]: counts[view.type] ?? 0 } : counts;
    const matching = visibleCounts ? Object.values(visibleCounts).reduce((n, c) => n + (c ?? 0), 0) : null;
    const paged = finishPage(rows, PAGE_SIZE, pq, (row) => row.key, hrefFor, matching);
    const presentTypes = EXCEPTION_TYPES.filter((type) =>
      visibleCounts ? (visibleCounts[type] ?? 0) > 0 : (page.openByType[type] ?? 0) > 0 && (!view.type || view.type === type),
    );
    const manyText = `more than ${SEARCH_COUNT_LIMIT.toLocaleString('en-GB')}`;
    const matchingText = matching === null ? `${manyText} open exceptions` : plural(matching, 'open exception');

    const keep = { q: view.q, type: view.type ?? undefined, age: view.age?.bucket };
    const headers = (Object.keys(SORTS) as SortKey[]).map((key) => ({
      ...sortHeader(this.urls, base, SORT_LABELS[key], key, view, keep),
      // The Raised column's order is the exceptions' age: ascending is the oldest first.
      orderNote: key === 'raised' && view.sort === 'raised' ? (view.dir === 'asc' ? 'oldest first' : 'newest first') : null,
    }));
    const fieldErrors = errorMap(errors);
    renderPage(
      res,
      'exceptions/report',
      {
        title: page.title(errors.length > 0),
        tabs: page.tabs,
        certificationName: page.certification.fullName,
        reportHref: this.urls.to(base),
        csvHref: this.urls.withQuery(`${base}.csv`, viewQuery),
        bulkAction: this.urls.to(base, '/bulk'),
        view: { q: view.q, sort: view.sort, dir: view.dir, type: view.type ?? '', age: view.age?.bucket ?? '' },
        typeOptions: EXCEPTION_TYPES.map((type) => ({ value: type, label: TYPE_LABELS[type], selected: view.type === type })),
        ageOptions: AGE_BUCKETS.map((bucket) => ({ value: bucket, label: AGE_LABELS[bucket], selected: view.age?.bucket === bucket })),
        caption: view.age ? `Open exceptions ${AGE_PHRASES[view.age.bucket]}` : 'Open exceptions',
        headers,
        rows: paged.rows.map((row) => ({
          id: row.id,
          name: `${row.firstName} ${row.lastName}`,
          learnerHref: this.urls.to('/learners/', row.learnerId),
          idNumber: row.idNumber,
          typeLabel: TYPE_LABELS[row.type],
          summary: describeEvidence(row.type, row.evidence, now, row.summary, zone),
          age: ageText(daysSince(row.raisedAt, now, zone)),
          raised: formatDate(row.raisedAt, zone),
          ticked: answers.ticked.includes(row.id),
        })),
        pagination: paged.pagination,
        openCount: page.openExceptions,
        unfinished: unfinished.map((b) => ({
          id: b.id,
          href: this.urls.to('/admin/bulk-actions/', b.id),
          text: `${ACTION_LABELS[b.action]} (${b.selectionLabel}) is ${b.state === 'queued' ? 'queued' : `running: ${b.processed.toLocaleString('en-GB')} of ${plural(b.total, 'learner')} processed`}.`,
        })),
        matchingText,
        matchingSentence: capitalised(matchingText),
        filtered: Boolean(view.q || view.type || view.age),
        selectOptions: [
          { value: 'none', label: 'None', selected: answers.select === 'none' },
          {
            value: 'all',
            label: 'All learners',
            selected: answers.select === 'all',
            count: matching,
            countText: matching === null ? `${capitalised(manyText)} learners selected` : null,
          },
          ...presentTypes.map((type) => ({
            value: type,
            label: conditionLabel(type),
            selected: answers.select === type,
            count: visibleCounts?.[type] ?? null,
            countText: visibleCounts ? null : 'Learners selected: counted when you continue',
          })),
        ],
        selectCounts: visibleCounts
          ? [
              { label: 'All learners', text: plural(matching!, 'learner') },
              ...presentTypes.map((type) => ({ label: conditionLabel(type), text: plural(visibleCounts[type]!, 'learner') })),
            ]
          : [{ label: 'All learners', text: `${manyText} learners` }],
        actionOptions: BULK_ACTIONS.map((action) => ({ value: action, label: ACTION_LABELS[action], selected: answers.action === action })),
        reason: answers.reason,
        errors,
        fieldErrors,
      },
      status,
    );
  }

  /** Where Cancel and "start again" lead: the learner's page the action began on, or the report. */
  private backHref(id: number, query: Record<string, unknown>): string {
    const learner = typeof query.learner === 'string' && /^\d{1,9}$/.test(query.learner) ? query.learner : null;
    if (learner) return this.urls.to('/learners/', learner);
    const bulkAction = typeof query.from === 'string' && /^\d{1,15}$/.test(query.from) ? query.from : null;
    if (bulkAction) return this.urls.to('/admin/bulk-actions/', bulkAction);
    // The link keeps the age filter's bucket only, so the zone its days are worked out in does not matter.
    return this.urls.withQuery(`/certifications/${id}/exceptions`, this.viewQuery(parseView(query, 'UTC')));
  }

  private async renderExpired(res: Response, id: number, draft: Draft, query: Record<string, unknown>) {
    const page = await this.certifications.page(id, 'exceptions');
    renderPage(
      res,
      'exceptions/confirm-expired',
      {
        title: page.title(false, `Confirmation expired: ${ACTION_LABELS[draft.action]}`),
        certificationName: page.certification.fullName,
        actionLabel: ACTION_LABELS[draft.action],
        backHref: this.backHref(id, query),
      },
      410,
    );
  }

  private async renderConfirm(res: Response, id: number, draft: Draft, query: Record<string, unknown>, errors: FieldError[], status = 200) {
    const page = await this.certifications.page(id, 'exceptions');
    const view = parseView(query, readerZone(res));
    const common = {
      title: page.title(errors.length > 0, `Confirm: ${ACTION_LABELS[draft.action]}`),
      certificationName: page.certification.fullName,
      actionLabel: ACTION_LABELS[draft.action],
      selectionLabel: draft.selection.label,
      reason: draft.reason,
      okAction: this.urls.to(`/certifications/${id}/exceptions/confirm/${draft.token}`),
      view: { q: view.q, type: view.type ?? '', age: view.age?.bucket ?? '', sort: view.sort, dir: view.dir },
      learner: typeof query.learner === 'string' ? query.learner : '',
      from: typeof query.from === 'string' ? query.from : '',
      cancelHref: this.backHref(id, query),
      errors,
    };
    if (draft.action === 'reopen') {
      const summary = await this.drafts.reopenSummary(id, draft.selection);
      return renderPage(
        res,
        'exceptions/confirm',
        {
          ...common,
          affects: `This will affect ${plural(summary.total, 'learner')}`,
          outcome:
            'Each exception is Open again and the learner is as before it was handled: not assigned, the due date the action changed put back, and completion recorded again after a Dismiss. Messages already sent are not sent again.',
          counts: summary.refused.map((r) => ({ text: `${plural(r.count, 'learner')} will not be reopened: ${r.reason}` })),
          canConfirm: errors.length === 0 && summary.total > 0,
        },
        status,
      );
    }
    const summary = await this.report.summarise(id, draft.selection);
    const preview =
      draft.action === 'assign_realistic' ? await this.report.realisticPreview(id, draft.selection, this.config.siteTimeZone) : [];
    renderPage(
      res,
      'exceptions/confirm',
      {
        ...common,
        affects: `This will affect ${plural(summary.total, 'learner')}`,
        counts: typeCounts(summary.countsByType),
        notOpen: summary.notOpen > 0 ? `${plural(summary.notOpen, 'ticked learner')} already handled will be skipped.` : null,
        outcome: outcomeSentence(draft.action),
        preview: preview.map((row) => ({
          name: `${row.firstName} ${row.lastName}`,
          idNumber: row.idNumber,
          currentDue: row.currentDue ? formatDate(row.currentDue, readerZone(res)) : 'None',
          newDue: formatDate(row.newDue, readerZone(res)),
        })),
        previewMore:
          preview.length > 0 && summary.total > preview.length ? `and ${plural(summary.total - preview.length, 'more learner')}` : null,
        canConfirm: errors.length === 0 && summary.total > 0,
      },
      status,
    );
  }
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function outcomeSentence(action: BulkActionName): string {
  switch (action) {
    case 'assign':
      return 'Each learner is assigned now with their due date unchanged, and receives the certification messages they missed.';
    case 'assign_realistic':
      return 'Each learner gets a realistic due date (now + the minimum time of their path + the buffer) and is assigned now.';
    case 'do_not_assign':
      return 'Each learner stays in the certification as Not assigned: no messages and no processing until their due date grows.';
    case 'dismiss':
      return 'Each exception is cleared; the learner can continue, but their completion is not recorded.';
  }
}
