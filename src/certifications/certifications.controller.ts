import { Body, Controller, Get, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { errorMap, FieldError, fieldError } from '../common/forms';
import { AppRequest, flash, renderPage, seeOther } from '../common/http';
import { finishPage, pageQuery } from '../common/keyset';
import { UrlBuilder } from '../common/url';
import { pageTitle, plural } from '../common/view-helpers';
import { BASE_LABELS, checkCertificationForm, PERIOD_UNITS, PeriodUnit, RECERTIFICATION_BASES, UNIT_LABELS } from './certifications.dto';
import { Certification, CertificationRuleError, CertificationsService } from './certifications.service';

const PAGE_SIZE = 50;
const SINGULAR: Record<PeriodUnit, string> = { day: 'day', week: 'week', month: 'month', year: 'year' };

export function periodText(amount: number, unit: PeriodUnit): string {
  return plural(amount, SINGULAR[unit]);
}

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
  };
}

const NEW_VALUES = {
  activePeriodAmount: '1',
  activePeriodUnit: 'year',
  windowPeriodAmount: '1',
  windowPeriodUnit: 'month',
  recertificationBase: 'expiry',
  realisticBufferDays: '7',
};

@Controller('certifications')
export class CertificationsController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const page = pageQuery(query, 2);
    const rows = await this.certifications.list(page, PAGE_SIZE);
    const { rows: visible, pagination } = finishPage(
      rows,
      PAGE_SIZE,
      page,
      (row) => [row.sortName, row.id],
      (cursor) => this.urls.withQuery('/certifications', cursor),
    );
    renderPage(res, 'certifications/list', {
      title: pageTitle(['Certifications']),
      certifications: visible.map((row) => ({ ...row, href: this.urls.to('/certifications/', row.id) })),
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
    if (!form.ok) return this.renderForm(res, null, form.values, form.errors, 400);
    try {
      const id = await this.certifications.create(form.value);
      flash(req, `Certification “${form.value.fullName}” created`);
      seeOther(res, this.urls.to('/certifications/', id));
    } catch (error) {
      if (error instanceof CertificationRuleError) return this.renderForm(res, null, body, [fieldError(error.field, error.message)], 400);
      throw error;
    }
  }

  @Get(':id')
  async overview(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
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
        activePeriod: periodText(c.activePeriodAmount, c.activePeriodUnit),
        windowPeriod: periodText(c.windowPeriodAmount, c.windowPeriodUnit),
        recertificationBase: BASE_LABELS[c.recertificationBase],
        realisticBuffer: plural(c.realisticBufferDays, 'day'),
        certificationMinimum: plural(c.certificationMinDays, 'day'),
        recertificationMinimum: plural(c.recertificationMinDays, 'day'),
      },
      editHref: this.urls.to('/certifications/', id, '/edit'),
      contentHref: this.urls.to('/certifications/', id, '/content'),
    });
  }

  @AdminOnly()
  @Get(':id/edit')
  async editForm(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'overview');
    this.renderForm(res, page.certification, formValues(page.certification), [], 200, page.tabs);
  }

  @Post(':id/edit')
  async update(@Param('id', ParseIntPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const page = await this.certifications.page(id, 'overview');
    const form = checkCertificationForm(body);
    if (!form.ok) return this.renderForm(res, page.certification, form.values, form.errors, 400, page.tabs);
    try {
      await this.certifications.update(id, form.value);
      flash(req, `Certification “${form.value.fullName}” saved`);
      seeOther(res, this.urls.to('/certifications/', id));
    } catch (error) {
      if (error instanceof CertificationRuleError) {
        return this.renderForm(res, page.certification, body, [fieldError(error.field, error.message)], 400, page.tabs);
      }
      throw error;
    }
  }

  private renderForm(
    res: Response,
    existing: Certification | null,
    values: Record<string, unknown>,
    errors: FieldError[],
    status = 200,
    tabs: unknown = null,
  ) {
    const heading = existing ? 'Edit certification details' : 'Add a certification';
    const options = (selected: unknown) => PERIOD_UNITS.map((value) => ({ value, label: UNIT_LABELS[value], selected: value === selected }));
    renderPage(
      res,
      'certifications/form',
      {
        title: existing ? pageTitle(['Edit details', existing.fullName], errors.length > 0) : pageTitle([heading, 'Certifications'], errors.length > 0),
        heading,
        tabs,
        certificationName: existing?.fullName,
        creating: !existing,
        action: existing ? this.urls.to('/certifications/', existing.id, '/edit') : this.urls.to('/certifications'),
        backHref: existing ? this.urls.to('/certifications/', existing.id) : this.urls.to('/certifications'),
        values,
        activeUnits: options(values.activePeriodUnit),
        windowUnits: options(values.windowPeriodUnit),
        bases: RECERTIFICATION_BASES.map((value, index) => ({
          value,
          label: BASE_LABELS[value],
          id: index === 0 ? 'recertificationBase' : `recertificationBase-${value}`,
          checked: value === values.recertificationBase,
        })),
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
