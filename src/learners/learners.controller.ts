import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CsvFileUpload } from './csv-file.interceptor';
import { BigIdPipe, IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { renderFormPage, submitForm } from '../common/form-page';
import { errorMap, FieldError, fieldError, validateForm } from '../common/forms';
import { AppRequest, flash, orNotFound, readerZone, renderPage, seeOther } from '../common/http';
import { Direction } from '../common/keyset';
import { listQuery, searchCaption, sortHeader } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { ACTION_LABELS, actionFits, BULK_ACTIONS, ExceptionType, isBulkAction, TYPE_LABELS } from '../exceptions/exception-rules';
import { CurrentException, ExceptionAction, LearnerExceptionsService } from '../exceptions/learner-exceptions.service';
import { BulkActionDraftsService, Prepared } from '../exceptions/bulk-action-drafts.service';
import { describeEvidence } from '../exceptions/evidence';
import { formatDate, formatDateTime, pageTitle, plural } from '../common/view-helpers';
import { LEARNER_CSV_COLUMNS, LearnerImportService } from './learner-import.service';
import { todayIn, toLocalDateTime } from '../common/time-zone';
import { isIsoDate } from './csv-upload';
import { CompletionForm, LearnerForm } from './learners.dto';
import { LearnersService, LearnerSort, MembershipHistoryRow } from './learners.service';
import { Learner } from './learner.entity';
import { EXCEPTION_STATUS_LABELS, REPORT_STATE_LABELS } from '../reports/report-states';
import { answerUpload, renderUploadPage, UploadPage } from './upload-page';
import { ExemptionsService } from '../exemptions/exemptions.service';
import { learnerExemptionsView } from '../exemptions/exemption-view';

/** An exception's status in words: the report's words, plus Resolved (closed by membership sync). */
const EXCEPTION_HISTORY_LABELS: Record<string, string> = { ...EXCEPTION_STATUS_LABELS, resolved: 'Resolved' };

const MAX_REASON = 1000;

/**
 * The learner's memberships, each with the full history of its exceptions (rows come grouped by
 * membership), the exception that can be acted on now, and every action taken on its exceptions.
 */
function membershipHistories(
  rows: MembershipHistoryRow[],
  current: CurrentException[],
  actions: ExceptionAction[],
  learnerId: number,
  urls: UrlBuilder,
  answers: { values: Record<string, unknown>; errors: Record<string, string> },
  zone: string,
) {
  const memberships: Array<{
    id: number;
    name: string;
    href: string;
    removedAt: string | null;
    exceptions: object[];
    exceptionCount: string;
    current: object | null;
    actions: object[];
  }> = [];
  for (const row of rows) {
    let membership = memberships[memberships.length - 1];
    if (!membership || membership.id !== row.membership_id) {
      const now = current.find((c) => c.membershipId === row.membership_id);
      membership = {
        id: row.membership_id,
        name: row.full_name,
        href: urls.to('/certifications/', row.certification_id),
        removedAt: row.removed_at,
        exceptions: [],
        exceptionCount: '',
        current: now ? currentView(now, row.full_name, learnerId, urls, answers, zone) : null,
        actions: actions
          .filter((a) => a.membershipId === row.membership_id)
          .map((a) => ({
            actedAt: formatDateTime(a.actedAt, zone),
            by: a.byPolicy ? 'By policy' : (a.staffName ?? 'Certex (automatic)'),
            action: ACTION_LABELS[a.action] ?? a.action,
            change: `${EXCEPTION_HISTORY_LABELS[a.statusBefore] ?? a.statusBefore} → ${EXCEPTION_HISTORY_LABELS[a.statusAfter] ?? a.statusAfter}`,
            reason: a.reason || 'No reason given',
            due: `${a.dueBefore ? formatDate(a.dueBefore, zone) : 'None'} → ${a.dueAfter ? formatDate(a.dueAfter, zone) : 'None'}`,
            bulkHref: a.bulkActionId ? urls.to('/admin/bulk-actions/', a.bulkActionId) : null,
            bulkLabel: a.bulkActionId ? `Bulk action ${a.bulkActionId}` : null,
          })),
      };
      memberships.push(membership);
    }
    if (row.exception_id === null) continue;
    membership.exceptions.push({
      raisedAt: row.raised_at,
      type: TYPE_LABELS[row.type as ExceptionType] ?? row.type,
      status: EXCEPTION_HISTORY_LABELS[row.status!] ?? row.status,
      handledAt: row.handled_at,
      handledBy: row.handled_by ?? '',
      reason: row.reason || 'No reason given',
    });
  }
  for (const membership of memberships) membership.exceptionCount = plural(membership.exceptions.length, 'exception');
  return memberships;
}

/** The open exception with the actions that fit its type, or the handled one with its Reopen button. */
function currentView(
  exception: CurrentException,
  certificationName: string,
  learnerId: number,
  urls: UrlBuilder,
  answers: { values: Record<string, unknown>; errors: Record<string, string> },
  zone: string,
) {
  const id = exception.exceptionId;
  const base = `/learners/${learnerId}/exceptions/${id}`;
  const answer = (field: string) =>
    typeof answers.values[`${field}-${id}`] === 'string' ? (answers.values[`${field}-${id}`] as string) : '';
  return {
    id,
    open: exception.status === 'open',
    heading: exception.status === 'open' ? `Open exception in ${certificationName}` : `Handled exception in ${certificationName}`,
    type: TYPE_LABELS[exception.type] ?? exception.type,
    summary: describeEvidence(exception.type, exception.evidence, new Date(), exception.summary, zone),
    raisedAt: exception.raisedAt,
    status: EXCEPTION_HISTORY_LABELS[exception.status] ?? exception.status,
    actionOptions: BULK_ACTIONS.filter((action) => actionFits(action, exception.type)).map((action) => ({
      value: action,
      label: ACTION_LABELS[action],
      selected: answer('action') === action,
    })),
    reason: answer('reason'),
    reopenReason: answer('reopen-reason'),
    actionError: answers.errors[`action-${id}`],
    reasonError: answers.errors[`reason-${id}`],
    reopenError: answers.errors[`reopen-${id}`] ?? answers.errors[`reopen-reason-${id}`],
    handleAction: urls.to(base, '/handle'),
    reopenAction: urls.to(base, '/reopen'),
    reopenRefusal: exception.reopenRefusal,
  };
}

function postedReason(body: Record<string, unknown>): string {
  return typeof body.reason === 'string' ? body.reason.trim() : '';
}

function reasonTooLong(reason: string, field: string): FieldError | null {
  return [...reason].length > MAX_REASON ? fieldError(field, `Reason must be ${MAX_REASON} characters or fewer`) : null;
}

/** A bulk action's selection of just this one exception of the learner. */
function onlyException(learner: Learner, exceptionId: number) {
  return { mode: 'ids' as const, ids: [exceptionId], label: `${learner.firstName} ${learner.lastName} (${learner.idNumber})` };
}

const SOURCE_LABELS: Record<string, string> = { csv: 'CSV upload', admin: 'Administrator', api: 'API', demo: 'Demo data' };

@Controller('learners')
export class LearnersController {
  constructor(
    private readonly learners: LearnersService,
    private readonly imports: LearnerImportService,
    private readonly exceptions: LearnerExceptionsService,
    private readonly drafts: BulkActionDraftsService,
    private readonly exemptions: ExemptionsService,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const sort: LearnerSort = query.sort === 'idNumber' ? 'idNumber' : 'name';
    const dir: Direction = query.dir === 'desc' ? 'desc' : 'asc';
    const list = listQuery(query, sort === 'name' ? 3 : 2);
    const page = await this.learners.list({ ...list, sort, dir });
    const current = { sort, dir, q: list.q };
    renderPage(res, 'learners/list', {
      title: pageTitle(['Learners']),
      q: list.q,
      caption: searchCaption('Learners', list.q),
      sort,
      dir,
      headers: {
        name: sortHeader(this.urls, '/learners', 'Name', 'name', current),
        idNumber: sortHeader(this.urls, '/learners', 'ID number', 'idNumber', current),
      },
      learners: page.rows.map((row) => ({
        href: this.urls.to('/learners/', row.id),
        name: `${row.first_name} ${row.last_name}`,
        idNumber: row.id_number,
        username: row.username,
        email: row.email,
        status: row.suspended ? 'Suspended' : 'Active',
      })),
      pagination: page.pagination,
    });
  }

  @AdminOnly()
  @Get('new')
  newForm(@Res() res: Response) {
    this.renderForm(res, null, {}, []);
  }

  @Post()
  create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    return submitForm(
      LearnerForm,
      body,
      async (learner) => {
        const id = await this.learners.create(learner, readerZone(res));
        flash(req, `Learner ${learner.firstName} ${learner.lastName} added`);
        seeOther(res, this.urls.to('/learners/', id));
      },
      (values, errors) => this.renderForm(res, null, values, errors),
    );
  }

  @AdminOnly()
  @Get('upload')
  uploadForm(@Res() res: Response) {
    renderUploadPage(res, this.uploadPage());
  }

  @Post('upload')
  @CsvFileUpload()
  async upload(@Req() req: AppRequest, @Res() res: Response) {
    answerUpload(req, res, this.uploadPage(), await this.imports.importLearners(req.file));
  }

  private uploadPage(): UploadPage {
    return {
      heading: 'Upload learners',
      section: ['Learners'],
      intro:
        'Add and update learners from a CSV file. A learner whose ID number is already in Certex is updated; any other row adds a learner.',
      action: this.urls.to('/learners/upload'),
      backHref: this.urls.to('/learners'),
      backLabel: 'Back to learners',
      columns: LEARNER_CSV_COLUMNS,
      exampleRows: ['E1001,ada.lovelace,Ada,Lovelace,ada.lovelace@example.org,2024-03-31,no'],
    };
  }

  @Get(':id')
  async show(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const learner = await this.load(id);
    await this.renderShow(res, learner, {}, []);
  }

  @AdminOnly()
  @Get(':id/edit')
  async editForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const learner = await this.load(id);
    this.renderForm(
      res,
      learner,
      {
        idNumber: learner.idNumber,
        username: learner.username,
        firstName: learner.firstName,
        lastName: learner.lastName,
        email: learner.email,
        hireDate: learner.hireDate ?? '',
        firstLogin: learner.firstLoginAt ? toLocalDateTime(learner.firstLoginAt, readerZone(res)) : '',
        suspended: learner.suspended,
      },
      [],
    );
  }

  @Post(':id')
  async update(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const learner = await this.load(id);
    await submitForm(
      LearnerForm,
      body,
      async (changed) => {
        await this.learners.update(id, changed, readerZone(res));
        flash(req, `Learner ${changed.firstName} ${changed.lastName} saved`);
        seeOther(res, this.urls.to('/learners/', id));
      },
      (values, errors) => this.renderForm(res, learner, values, errors),
    );
  }

  @Post(':id/completions')
  async recordCompletion(
    @Param('id', IdPipe) id: number,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const learner = await this.load(id);
    const form = validateForm(CompletionForm, body);
    // A day of the site's calendar: today there is the latest a completion can be.
    const typed = typeof body.completedOn === 'string' ? body.completedOn.trim() : '';
    const future =
      isIsoDate(typed) && typed > todayIn(this.config.siteTimeZone)
        ? [fieldError('completedOn', 'Completion date must be today or in the past')]
        : [];
    if (!form.ok) {
      const dateRefused = form.errors.some((e) => e.field === 'completedOn');
      return this.renderShow(res, learner, form.values, dateRefused ? form.errors : [...form.errors, ...future]);
    }
    if (future.length > 0) return this.renderShow(res, learner, { ...form.value }, future);
    const result = await this.learners.recordCompletion(
      id,
      Number(form.value.courseId),
      form.value.completedOn,
      req.staff!.id,
      this.config.siteTimeZone,
    );
    if (result === 'no-course') return this.renderShow(res, learner, { ...form.value }, [fieldError('courseId', 'Select a course')]);
    flash(
      req,
      result
        ? `Course completion recorded on ${formatDate(form.value.completedOn, this.config.siteTimeZone)}`
        : 'This course completion was already recorded',
    );
    seeOther(res, this.urls.to('/learners/', id));
  }

  /** One exception of this learner, handled through the same confirmation and bulk action as the report. */
  @Post(':id/exceptions/:exceptionId/handle')
  async handleException(
    @Param('id', IdPipe) id: number,
    @Param('exceptionId', BigIdPipe) exceptionId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const { learner, certificationId } = await this.exceptionOf(id, exceptionId);
    const action = typeof body.action === 'string' ? body.action : '';
    const reason = postedReason(body);
    const values = { [`action-${exceptionId}`]: action, [`reason-${exceptionId}`]: reason };
    if (!isBulkAction(action)) return this.renderShow(res, learner, values, [fieldError(`action-${exceptionId}`, 'Choose an action')]);
    const tooLong = reasonTooLong(reason, `reason-${exceptionId}`);
    if (tooLong) return this.renderShow(res, learner, values, [tooLong]);
    const prepared = await this.drafts.prepare(certificationId, req.staff!.id, action, reason || null, onlyException(learner, exceptionId));
    await this.toConfirmation(res, learner, values, certificationId, prepared, `action-${exceptionId}`);
  }

  @Post(':id/exceptions/:exceptionId/reopen')
  async reopenException(
    @Param('id', IdPipe) id: number,
    @Param('exceptionId', BigIdPipe) exceptionId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const { learner, certificationId } = await this.exceptionOf(id, exceptionId);
    const reason = postedReason(body);
    const values = { [`reopen-reason-${exceptionId}`]: reason };
    const tooLong = reasonTooLong(reason, `reopen-reason-${exceptionId}`);
    if (tooLong) return this.renderShow(res, learner, values, [tooLong]);
    const prepared = await this.drafts.prepareReopen(certificationId, req.staff!.id, reason || null, onlyException(learner, exceptionId));
    await this.toConfirmation(res, learner, values, certificationId, prepared, `reopen-${exceptionId}`);
  }

  /** The learner and the certification of one of their exceptions; a 404 page when it is not theirs. */
  private async exceptionOf(id: number, exceptionId: number): Promise<{ learner: Learner; certificationId: number }> {
    const learner = await this.load(id);
    const certificationId = await orNotFound(this.exceptions.certificationOf(id, exceptionId));
    return { learner, certificationId };
  }

  private async toConfirmation(
    res: Response,
    learner: Learner,
    values: Record<string, unknown>,
    certificationId: number,
    prepared: Prepared,
    field: string,
  ) {
    if ('error' in prepared) return this.renderShow(res, learner, values, [{ ...prepared.error, field, href: `#${field}` }]);
    seeOther(res, this.urls.withQuery(`/certifications/${certificationId}/exceptions/confirm/${prepared.token}`, { learner: learner.id }));
  }

  private load(id: number): Promise<Learner> {
    return orNotFound(this.learners.get(id));
  }

  private renderForm(res: Response, learner: Learner | null, values: object, errors: FieldError[]) {
    const heading = learner ? `Edit ${learner.firstName} ${learner.lastName}` : 'Add a learner';
    const home = learner ? this.urls.to('/learners/', learner.id) : this.urls.to('/learners');
    renderFormPage(
      res,
      'learners/form',
      {
        title: pageTitle([heading, 'Learners'], errors.length > 0),
        heading,
        creating: !learner,
        action: home,
        backHref: home,
        firstLoginHint: `Date and time in ${readerZone(res)}, for example 2024-03-31T09:30`,
      },
      { ...values, suspended: 'suspended' in values && (values.suspended === true || values.suspended === 'yes') },
      errors,
    );
  }

  private async renderShow(res: Response, learner: Learner, values: Record<string, unknown>, errors: FieldError[]) {
    const [certifications, completions, courses, history, current, actions, exemptions] = await Promise.all([
      this.learners.certifications(learner.id),
      this.learners.completions(learner.id),
      this.learners.courseOptions(),
      this.learners.membershipHistory(learner.id),
      this.exceptions.current(learner.id),
      this.exceptions.actions(learner.id),
      this.exemptions.history(learner.id),
    ]);
    const name = `${learner.firstName} ${learner.lastName}`;
    const zone = readerZone(res);
    renderFormPage(
      res,
      'learners/show',
      {
        title: pageTitle([name, 'Learners'], errors.length > 0),
        learnerName: name,
        learner: {
          idNumber: learner.idNumber,
          username: learner.username,
          email: learner.email,
          hireDate: learner.hireDate ? formatDate(learner.hireDate, zone) : 'Not known',
          firstLogin: learner.firstLoginAt,
          status: learner.suspended ? 'Suspended' : 'Active',
          editHref: this.urls.to('/learners/', learner.id, '/edit'),
        },
        certifications: certifications.map((c) => ({
          href: this.urls.to('/certifications/', c.id),
          name: c.full_name,
          state: REPORT_STATE_LABELS[c.state],
          dueAt: c.due_at,
          exceptionStatus: EXCEPTION_STATUS_LABELS[c.exception_status],
        })),
        certificationCount: plural(certifications.length, 'certification'),
        ...learnerExemptionsView(learner.id, certifications, exemptions, this.urls, zone),
        memberships: membershipHistories(history, current, actions, learner.id, this.urls, { values, errors: errorMap(errors) }, zone),
        completions: completions.map((c) => ({
          course: `${c.full_name} (${c.short_name})`,
          completedAt: c.completed_at,
          source: c.source === 'admin' && c.recorded_by ? `Administrator (${c.recorded_by})` : (SOURCE_LABELS[c.source] ?? c.source),
        })),
        completionCount: plural(completions.length, 'course completion'),
        courses: courses.map((c) => ({
          value: String(c.id),
          label: `${c.fullName} (${c.shortName})`,
          selected: String(c.id) === values.courseId,
        })),
        completionAction: this.urls.to('/learners/', learner.id, '/completions'),
        siteTimeZone: this.config.siteTimeZone,
      },
      { ...values, completedOn: values.completedOn ?? '' },
      errors,
    );
  }
}
