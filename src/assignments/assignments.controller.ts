import { Body, Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { localDate } from '../common/time-zone';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { radioOptions, renderFormPage, selectOptions, submitForm } from '../common/form-page';
import { FieldError } from '../common/forms';
import { AppRequest, flash, readerZone, renderPage, seeOther } from '../common/http';
import { pageQuery } from '../common/keyset';
import { UrlBuilder } from '../common/url';
import { PERIOD_UNITS, UNIT_LABELS } from '../certifications/certifications.dto';
import { CertificationPage, CertificationsService } from '../certifications/certifications.service';
import { CourseSetsService } from '../certifications/course-sets.service';
import { AssignmentRow, AssignmentService, dueRuleFields, dueRuleText, summaryText } from './assignment.service';
import { AssignmentPreviewService } from './preview/assignment-preview.service';
import { formValuesFromQuery, previewPageModel, submittedFields } from './preview/preview-page';
import { validateForm } from '../common/forms';
import { ruleErrors } from '../common/rule-error';
import {
  ASSIGNMENT_KINDS,
  AssignmentForm,
  DUE_EVENT_LABELS,
  DUE_EVENTS,
  DUE_RULE_LABELS,
  DUE_RULES,
  DueRuleForm,
  DueRuleInput,
  KIND_LABELS,
  toAssignmentInput,
  toDueRuleInput,
} from './assignments.dto';

/** The Assignments tab of a certification. */
@Controller('certifications/:id/assignments')
export class AssignmentsController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly assignments: AssignmentService,
    private readonly courseSets: CourseSetsService,
    private readonly previews: AssignmentPreviewService,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'assignments');
    const { rows, pagination } = await this.assignments.list(id, pageQuery(query, 1));
    const summary = await this.assignments.summary(id);
    renderPage(res, 'certifications/assignments', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      summary: summary.total > 0 ? summaryText(summary) : null,
      addHref: this.urls.to(`/certifications/${id}/assignments/new`),
      assignments: rows.map((row) => ({
        who: this.who(row),
        dueRule: dueRuleText(row, readerZone(res)),
        covers: row.covers,
        editHref: this.urls.to(`/certifications/${id}/assignments/${row.id}/edit`),
        removeHref: this.urls.to(`/certifications/${id}/assignments/${row.id}/remove`),
      })),
      pagination,
    });
  }

  @AdminOnly()
  @Get('new')
  async newForm(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'assignments');
    const defaults = { kind: 'learner', dueRule: 'none', dueUnit: 'month', dueEvent: 'assignment' };
    await this.renderForm(res, page, formValuesFromQuery(query, defaults), []);
  }

  /** What adding this assignment would do (GET: nothing is saved); Save posts the same answers to create. */
  @AdminOnly()
  @Get('preview')
  async previewNew(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'assignments');
    const form = validateForm(AssignmentForm, query);
    if (!form.ok) return this.renderForm(res, page, form.values, form.errors);
    const input = toAssignmentInput(form.value);
    let outcome;
    try {
      outcome = await this.previews.previewAdd(id, input, req.staff!.id);
    } catch (error) {
      return this.renderForm(res, page, query, ruleErrors(error));
    }
    const fields = submittedFields(form.value, ['kind', 'learnerIdNumber', 'audienceId']);
    const audience = input.audienceId === null ? null : (await this.assignments.audienceOptions()).find((a) => a.id === input.audienceId);
    renderPage(
      res,
      'certifications/assignment-preview',
      previewPageModel({
        page,
        heading: 'Check what this assignment will do',
        proposed: [
          { key: 'Assign', value: input.kind === 'learner' ? `Learner ${input.learnerIdNumber}` : `Audience ${audience?.name ?? ''}` },
          { key: 'Due date rule', value: await this.proposedRuleText(input, readerZone(res)) },
        ],
        outcome,
        fields,
        saveAction: this.urls.to(`/certifications/${id}/assignments`),
        saveLabel: 'Save assignment',
        changeHref: this.urls.withQuery(`/certifications/${id}/assignments/new`, fields),
        backHref: this.urls.to(`/certifications/${id}/assignments`),
        urls: this.urls,
        zone: readerZone(res),
      }),
    );
  }

  @Post()
  async create(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const page = await this.certifications.page(id, 'assignments');
    await submitForm(
      AssignmentForm,
      body,
      async (assignment) => {
        await this.assignments.add(id, toAssignmentInput(assignment), req.staff!.id);
        flash(req, 'Assignment added. Membership sync will bring its learners in shortly.');
        seeOther(res, this.urls.to(`/certifications/${id}/assignments`));
      },
      (values, errors) => this.renderForm(res, page, values, errors),
      { refusedShowsPosted: true },
    );
  }

  @AdminOnly()
  @Get(':assignmentId/edit')
  async editForm(
    @Param('id', IdPipe) id: number,
    @Param('assignmentId', IdPipe) assignmentId: number,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ) {
    const page = await this.certifications.page(id, 'assignments');
    const assignment = await this.assignments.get(id, assignmentId);
    await this.renderEditForm(res, page, assignment, formValuesFromQuery(query, dueRuleValues(assignment, this.config.siteTimeZone)), []);
  }

  /** What changing the due date rule would do (GET: nothing is saved); Save posts the same answers to edit. */
  @AdminOnly()
  @Get(':assignmentId/preview')
  async previewEdit(
    @Param('id', IdPipe) id: number,
    @Param('assignmentId', IdPipe) assignmentId: number,
    @Query() query: Record<string, unknown>,
    @Res() res: Response,
  ) {
    const page = await this.certifications.page(id, 'assignments');
    const assignment = await this.assignments.get(id, assignmentId);
    const form = validateForm(DueRuleForm, query);
    if (!form.ok) return this.renderEditForm(res, page, assignment, form.values, form.errors);
    const input = toDueRuleInput(form.value);
    let outcome;
    try {
      outcome = await this.previews.previewDueRuleChange(id, assignmentId, input);
    } catch (error) {
      return this.renderEditForm(res, page, assignment, query, ruleErrors(error));
    }
    const who = this.who(assignment);
    const fields = submittedFields(form.value, []);
    renderPage(
      res,
      'certifications/assignment-preview',
      previewPageModel({
        page,
        heading: 'Check what this change will do',
        proposed: [
          { key: 'Assigned', value: `${who.prefix} ${who.text}` },
          { key: 'Due date rule now', value: dueRuleText(assignment, readerZone(res)) },
          { key: 'New due date rule', value: await this.proposedRuleText(input, readerZone(res)) },
        ],
        outcome,
        fields,
        saveAction: this.urls.to(`/certifications/${id}/assignments/${assignmentId}/edit`),
        saveLabel: 'Save due date rule',
        changeHref: this.urls.withQuery(`/certifications/${id}/assignments/${assignmentId}/edit`, fields),
        backHref: this.urls.to(`/certifications/${id}/assignments`),
        urls: this.urls,
        zone: readerZone(res),
      }),
    );
  }

  @Post(':assignmentId/edit')
  async edit(
    @Param('id', IdPipe) id: number,
    @Param('assignmentId', IdPipe) assignmentId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const page = await this.certifications.page(id, 'assignments');
    const assignment = await this.assignments.get(id, assignmentId);
    await submitForm(
      DueRuleForm,
      body,
      async (rule) => {
        await this.assignments.changeDueRule(id, assignmentId, toDueRuleInput(rule));
        const who = this.who(assignment);
        flash(
          req,
          `Due date rule of ${who.prefix.toLowerCase()} ${who.text} changed. Membership sync will work out the due dates shortly; no due date is made earlier.`,
        );
        seeOther(res, this.urls.to(`/certifications/${id}/assignments`));
      },
      (values, errors) => this.renderEditForm(res, page, assignment, values, errors),
      { refusedShowsPosted: true },
    );
  }

  @Post(':assignmentId/remove')
  async remove(
    @Param('id', IdPipe) id: number,
    @Param('assignmentId', IdPipe) assignmentId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    await this.certifications.page(id, 'assignments');
    const removed = await this.assignments.remove(id, assignmentId);
    flash(
      req,
      removed
        ? 'Assignment removed. Membership sync will remove learners it no longer covers.'
        : 'That assignment had already been removed',
    );
    seeOther(res, this.urls.to(`/certifications/${id}/assignments`));
  }

  /** The rule as the list will show it once saved: a fixed date in the reader's zone, a course by its short name. */
  private async proposedRuleText(input: DueRuleInput, zone: string): Promise<string> {
    const course = input.dueCourseId === null ? undefined : (await this.courseSets.courseOptions()).find((c) => c.id === input.dueCourseId);
    return dueRuleText({ ...dueRuleFields(input, this.config.siteTimeZone), dueCourseShortName: course?.shortName ?? null }, zone);
  }

  private who(row: AssignmentRow) {
    return row.kind === 'learner'
      ? { prefix: 'Learner', text: `${row.learnerName} (${row.learnerIdNumber})`, href: this.urls.to('/learners/', row.learnerId!) }
      : { prefix: 'Audience', text: row.audienceName ?? '', href: this.urls.to('/audiences/', row.audienceId!) };
  }

  private async renderForm(res: Response, page: CertificationPage, values: Record<string, unknown>, errors: FieldError[]) {
    const audiences = await this.assignments.audienceOptions();
    await this.renderAssignmentForm(res, page, values, errors, {
      heading: 'Add an assignment',
      action: this.urls.to(`/certifications/${page.certification.id}/assignments/preview`),
      submitLabel: 'Preview',
      kinds: radioOptions('kind', ASSIGNMENT_KINDS, KIND_LABELS, values),
      audiences: audiences.map((a) => ({ ...a, selected: String(a.id) === String(values.audienceId) })),
    });
  }

  /** The same form without "Who to assign": the assignment's learner or audience stays. */
  private renderEditForm(
    res: Response,
    page: CertificationPage,
    assignment: AssignmentRow,
    values: Record<string, unknown>,
    errors: FieldError[],
  ) {
    return this.renderAssignmentForm(res, page, values, errors, {
      heading: 'Change a due date rule',
      action: this.urls.to(`/certifications/${page.certification.id}/assignments/${assignment.id}/preview`),
      submitLabel: 'Preview',
      assigned: { ...this.who(assignment), currentRule: dueRuleText(assignment, readerZone(res)) },
    });
  }

  private async renderAssignmentForm(
    res: Response,
    page: CertificationPage,
    values: Record<string, unknown>,
    errors: FieldError[],
    model: { heading: string; action: string; submitLabel: string } & Record<string, unknown>,
  ) {
    const courses = await this.courseSets.courseOptions();
    renderFormPage(
      res,
      'certifications/assignment-form',
      {
        ...model,
        title: page.title(errors.length > 0, model.heading),
        tabs: page.tabs,
        certificationName: page.certification.fullName,
        backHref: this.urls.to(`/certifications/${page.certification.id}/assignments`),
        rules: radioOptions('dueRule', DUE_RULES, DUE_RULE_LABELS, values),
        units: selectOptions('dueUnit', PERIOD_UNITS, UNIT_LABELS, values),
        events: selectOptions('dueEvent', DUE_EVENTS, DUE_EVENT_LABELS, values),
        courses: courses.map((c) => ({ ...c, selected: String(c.id) === String(values.dueCourseId) })),
        dueDateHint: `For a fixed date: due by the end of that day in ${this.config.siteTimeZone}. For example 2027-03-31.`,
      },
      values,
      errors,
    );
  }
}

/**
 * The stored rule as the form's answers; the fields the rule does not use get the add form's
 * defaults. A fixed due date is the day of the site's zone it was typed as.
 */
function dueRuleValues(row: AssignmentRow, siteZone: string): Record<string, unknown> {
  return {
    dueRule: row.dueRule,
    dueDate: row.dueFixedAt ? localDate(new Date(row.dueFixedAt), siteZone) : '',
    dueAmount: row.dueAmount === null ? '' : String(row.dueAmount),
    dueUnit: row.dueUnit ?? 'month',
    dueEvent: row.dueEvent ?? 'assignment',
    dueCourseId: row.dueCourseId === null ? '' : String(row.dueCourseId),
  };
}
