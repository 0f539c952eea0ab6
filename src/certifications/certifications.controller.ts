import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { radioOptions, renderFormPage, selectOptions } from '../common/form-page';
import { FieldError } from '../common/forms';
import { AppRequest, flash, renderPage, seeOther } from '../common/http';
import { pageQuery } from '../common/keyset';
import { ruleErrors } from '../common/rule-error';
import { UrlBuilder } from '../common/url';
import { pageTitle, plural } from '../common/view-helpers';
import { BASE_LABELS, checkCertificationForm, PERIOD_UNITS, RECERTIFICATION_BASES, UNIT_LABELS } from './certifications.dto';
import { Certification, CertificationsService } from './certifications.service';
import {
  DUPLICATE_COURSE_POLICIES,
  DUPLICATE_COURSE_POLICY_LABELS,
  policyRules,
  TIME_ALLOWANCE_POLICIES,
  TIME_ALLOWANCE_POLICY_LABELS,
} from './exception-policy';

function formValues(c: Certification): Record<string, unknown> {
  return {
    fullName: c.fullName,
    shortName: c.shortName,
    idNumber: c.idNumber ?? '',
    summary: c.summary,
    activePeriodAmount: String(c.activePeriodAmount),
    activePeriodUnit: c.activePeriodUnit,
    windowPeriodAmount: String(c.windowPeriodAmount),
    windowPeriodUnit: c.windowPeriodUnit,
    recertificationBase: c.recertificationBase,
    realisticBufferDays: String(c.realisticBufferDays),
    noticeRecipients: c.noticeRecipients.join('\n'),
    timeAllowancePolicy: c.timeAllowancePolicy,
    duplicateCoursePolicy: c.duplicateCoursePolicy,
  };
}

const NEW_VALUES = {
  activePeriodAmount: '1',
  activePeriodUnit: 'year',
  windowPeriodAmount: '1',
  windowPeriodUnit: 'month',
  recertificationBase: 'expiry',
  realisticBufferDays: '7',
  noticeRecipients: '',
  timeAllowancePolicy: 'hold',
  duplicateCoursePolicy: 'hold',
};

@Controller('certifications')
export class CertificationsController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const { rows, pagination } = await this.certifications.list(pageQuery(query, 2));
    renderPage(res, 'certifications/list', {
      title: pageTitle(['Certifications']),
      certifications: rows.map((row) => ({ ...row, href: this.urls.to('/certifications/', row.id) })),
      pagination,
    });
  }

  @AdminOnly()
  @Get('new')
  newForm(@Res() res: Response) {
    this.renderForm(res, null, NEW_VALUES, []);
  }

  @Post()
  async create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const form = checkCertificationForm(body);
    if (!form.ok) return this.renderForm(res, null, form.values, form.errors);
    try {
      const id = await this.certifications.create(form.value);
      flash(req, `Certification “${form.value.fullName}” created`);
      seeOther(res, this.urls.to('/certifications/', id));
    } catch (error) {
      this.renderForm(res, null, body, ruleErrors(error));
    }
  }

  @Get(':id')
  async overview(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'overview');
    const c = page.certification;
    renderPage(res, 'certifications/overview', {
      title: page.title(),
      tabs: page.tabs,
      certification: {
        fullName: c.fullName,
        shortName: c.shortName,
        idNumber: c.idNumber,
        summary: c.summary,
        activePeriod: plural(c.activePeriodAmount, c.activePeriodUnit),
        windowPeriod: plural(c.windowPeriodAmount, c.windowPeriodUnit),
        recertificationBase: BASE_LABELS[c.recertificationBase],
        realisticBuffer: plural(c.realisticBufferDays, 'day'),
        certificationMinimum: plural(c.certificationMinDays, 'day'),
        recertificationMinimum: plural(c.recertificationMinDays, 'day'),
        noticeRecipients: c.noticeRecipients,
        timeAllowancePolicy: TIME_ALLOWANCE_POLICY_LABELS[c.timeAllowancePolicy],
        duplicateCoursePolicy: DUPLICATE_COURSE_POLICY_LABELS[c.duplicateCoursePolicy],
      },
      editHref: this.urls.to('/certifications/', id, '/edit'),
      contentHref: this.urls.to('/certifications/', id, '/content'),
    });
  }

  @AdminOnly()
  @Get(':id/edit')
  async editForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'overview');
    this.renderForm(res, page.certification, formValues(page.certification), [], page.tabs);
  }

  @Post(':id/edit')
  async update(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const page = await this.certifications.page(id, 'overview');
    const form = checkCertificationForm(body);
    if (!form.ok) return this.renderForm(res, page.certification, form.values, form.errors, page.tabs);
    try {
      await this.certifications.update(id, form.value);
      flash(req, `Certification “${form.value.fullName}” saved`);
      // A policy that now handles a type the certification has open exceptions of: offer to apply it to them.
      const before = policyRules(page.certification).map((rule) => rule.type);
      const offered = policyRules(form.value).some((rule) => !before.includes(rule.type) && (page.openByType[rule.type] ?? 0) > 0);
      seeOther(res, this.urls.to('/certifications/', id, offered ? '/exception-policy' : ''));
    } catch (error) {
      this.renderForm(res, page.certification, body, ruleErrors(error), page.tabs);
    }
  }

  private renderForm(
    res: Response,
    existing: Certification | null,
    values: Record<string, unknown>,
    errors: FieldError[],
    tabs: unknown = null,
  ) {
    const heading = existing ? 'Edit certification details' : 'Add a certification';
    renderFormPage(
      res,
      'certifications/form',
      {
        title: pageTitle(existing ? ['Edit details', existing.fullName] : [heading, 'Certifications'], errors.length > 0),
        heading,
        tabs,
        certificationName: existing?.fullName,
        creating: !existing,
        action: existing ? this.urls.to('/certifications/', existing.id, '/edit') : this.urls.to('/certifications'),
        backHref: existing ? this.urls.to('/certifications/', existing.id) : this.urls.to('/certifications'),
        activeUnits: selectOptions('activePeriodUnit', PERIOD_UNITS, UNIT_LABELS, values),
        windowUnits: selectOptions('windowPeriodUnit', PERIOD_UNITS, UNIT_LABELS, values),
        bases: radioOptions('recertificationBase', RECERTIFICATION_BASES, BASE_LABELS, values),
        timeAllowancePolicies: radioOptions('timeAllowancePolicy', TIME_ALLOWANCE_POLICIES, TIME_ALLOWANCE_POLICY_LABELS, values),
        duplicateCoursePolicies: radioOptions('duplicateCoursePolicy', DUPLICATE_COURSE_POLICIES, DUPLICATE_COURSE_POLICY_LABELS, values),
      },
      values,
      errors,
    );
  }
}
