import { Body, Controller, Get, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { errorMap, FieldError, fieldError, validateForm } from '../common/forms';
import { AppRequest, flash, renderPage, seeOther } from '../common/http';
import { finishPage, pageQuery } from '../common/keyset';
import { UrlBuilder } from '../common/url';
import { CertificationPage, CertificationsService } from '../certifications/certifications.service';
import { AssignmentRuleError, AssignmentService, dueRuleText, summaryText } from './assignment.service';
import {
  ASSIGNMENT_KINDS,
  AssignmentForm,
  DUE_EVENT_LABELS,
  DUE_EVENTS,
  DUE_RULE_LABELS,
  DUE_RULES,
  DUE_UNIT_LABELS,
  DUE_UNITS,
  KIND_LABELS,
  toAssignmentInput,
} from './assignments.dto';

const PAGE_SIZE = 50;

/** The Assignments tab of a certification. */
@Controller('certifications/:id/assignments')
export class AssignmentsController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly assignments: AssignmentService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Param('id', ParseIntPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = await this.certifications.page(id, 'assignments');
    const cursor = pageQuery(query, 1);
    const rows = await this.assignments.list(id, cursor, PAGE_SIZE);
    const { rows: visible, pagination } = finishPage(
      rows,
      PAGE_SIZE,
      cursor,
      (row) => [row.id],
      (param) => this.urls.withQuery(`/certifications/${id}/assignments`, param),
    );
    const summary = await this.assignments.summary(id);
    renderPage(res, 'certifications/assignments', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      summary: summary.total > 0 ? summaryText(summary) : null,
      addHref: this.urls.to(`/certifications/${id}/assignments/new`),
      assignments: visible.map((row) => ({
        who:
          row.kind === 'learner'
            ? { prefix: 'Learner', text: `${row.learnerName} (${row.learnerIdNumber})`, href: this.urls.to('/learners/', row.learnerId!) }
            : { prefix: 'Audience', text: row.audienceName, href: this.urls.to('/audiences/', row.audienceId!) },
        dueRule: dueRuleText(row),
        covers: row.covers,
        removeHref: this.urls.to(`/certifications/${id}/assignments/${row.id}/remove`),
      })),
      pagination,
    });
  }

  @AdminOnly()
  @Get('new')
  async newForm(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'assignments');
    await this.renderForm(res, page, { kind: 'learner', dueRule: 'none', dueUnit: 'month', dueEvent: 'assignment' }, []);
  }

  @Post()
  async create(@Param('id', ParseIntPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const page = await this.certifications.page(id, 'assignments');
    const form = validateForm(AssignmentForm, body);
    if (!form.ok) return this.renderForm(res, page, form.values, form.errors, 400);
    try {
      await this.assignments.add(id, toAssignmentInput(form.value), req.staff!.id);
    } catch (error) {
      if (error instanceof AssignmentRuleError) return this.renderForm(res, page, body, [fieldError(error.field, error.message)], 400);
      throw error;
    }
    flash(req, 'Assignment added. Membership sync will bring its learners in shortly.');
    seeOther(res, this.urls.to(`/certifications/${id}/assignments`));
  }

  @Post(':assignmentId/remove')
  async remove(
    @Param('id', ParseIntPipe) id: number,
    @Param('assignmentId', ParseIntPipe) assignmentId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    await this.certifications.page(id, 'assignments');
    const removed = await this.assignments.remove(id, assignmentId);
    flash(req, removed ? 'Assignment removed. Membership sync will remove learners it no longer covers.' : 'That assignment had already been removed');
    seeOther(res, this.urls.to(`/certifications/${id}/assignments`));
  }

  private async renderForm(res: Response, page: CertificationPage, values: Record<string, unknown>, errors: FieldError[], status = 200) {
    const [audiences, courses] = await Promise.all([this.assignments.audienceOptions(), this.assignments.courseOptions()]);
    const radios = <T extends string>(name: string, options: readonly T[], labels: Record<T, string>) =>
      options.map((value, index) => ({ value, label: labels[value], inputId: index === 0 ? name : `${name}-${value}`, checked: values[name] === value }));
    const choices = <T extends string>(name: string, options: readonly T[], labels: Record<T, string>) =>
      options.map((value) => ({ value, label: labels[value], selected: values[name] === value }));
    renderPage(
      res,
      'certifications/assignment-form',
      {
        title: page.title(errors.length > 0, 'Add an assignment'),
        tabs: page.tabs,
        certificationName: page.certification.fullName,
        action: this.urls.to(`/certifications/${page.certification.id}/assignments`),
        backHref: this.urls.to(`/certifications/${page.certification.id}/assignments`),
        values,
        kinds: radios('kind', ASSIGNMENT_KINDS, KIND_LABELS),
        rules: radios('dueRule', DUE_RULES, DUE_RULE_LABELS),
        units: choices('dueUnit', DUE_UNITS, DUE_UNIT_LABELS),
        events: choices('dueEvent', DUE_EVENTS, DUE_EVENT_LABELS),
        audiences: audiences.map((a) => ({ ...a, selected: String(a.id) === String(values.audienceId) })),
        courses: courses.map((c) => ({ ...c, selected: String(c.id) === String(values.dueCourseId) })),
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
