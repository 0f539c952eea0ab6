import { Body, Controller, Get, Inject, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { AdminOnly } from '../auth/auth.decorators';
import { IdPipe } from '../common/id.pipe';
import { renderFormPage } from '../common/form-page';
import { FieldError, fieldError } from '../common/forms';
import { AppRequest, flash, orNotFound, readerZone, renderPage, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { formatDate, pageTitle, plural } from '../common/view-helpers';
import { CertificationsService } from '../certifications/certifications.service';
import { parseCompletionView } from '../reports/completion-report.service';
import { REPORT_STATE_LABELS } from '../reports/report-states';
import { Learner } from '../learners/learner.entity';
import { Certification } from '../certifications/certification.entity';
import { EntityManager } from '@mikro-orm/postgresql';
import { checkExemption, ExemptionAnswers, exemptionAnswers, ExemptionsService, MemberFilter } from './exemptions.service';

/** A posted or typed id, or null when it is not a positive whole number. */
function idFrom(value: unknown): number | null {
  return typeof value === 'string' && /^[1-9]\d{0,8}$/.test(value) ? Number(value) : null;
}

/**
 * Exempting learners from a certification: one learner from their page, or every learner a
 * Completion report filter selects, confirmed on a page of its own first. Ending an exemption now.
 */
@Controller()
export class ExemptionsController {
  constructor(
    private readonly exemptions: ExemptionsService,
    private readonly certifications: CertificationsService,
    private readonly em: EntityManager,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @AdminOnly()
  @Get('learners/:id/exemptions/new')
  async learnerForm(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const { learner, certification } = await this.exemptable(id, query.certification);
    this.renderLearnerForm(res, learner, certification, { reason: '', endsOn: '' }, []);
  }

  @Post('learners/:id/exemptions')
  async exemptLearner(
    @Param('id', IdPipe) id: number,
    @Body() body: Record<string, unknown>,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    const { learner, certification } = await this.exemptable(id, body.certificationId);
    const answers = exemptionAnswers(body);
    const checked = checkExemption(answers, this.config.siteTimeZone);
    if (!checked.ok) return this.renderLearnerForm(res, learner, certification, answers, checked.errors);
    const exempted = await this.exemptions.exemptLearner(id, certification.id, checked.value, req.staff!.id);
    flash(
      req,
      exempted
        ? `${learner.firstName} ${learner.lastName} is exempt from ${certification.fullName}`
        : `${learner.firstName} ${learner.lastName} was already exempt from ${certification.fullName}`,
    );
    seeOther(res, this.urls.to('/learners/', id));
  }

  @Post('learners/:id/exemptions/:exemptionId/end')
  async endExemption(
    @Param('id', IdPipe) id: number,
    @Param('exemptionId', IdPipe) exemptionId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    await orNotFound(this.em.findOne(Learner, { id }));
    const ended = await this.exemptions.endNow(id, exemptionId, req.staff!.id);
    if (!ended) throw new NotFoundException();
    flash(req, 'The exemption has ended; the learner is assigned with a realistic due date');
    seeOther(res, this.urls.to('/learners/', id));
  }

  @AdminOnly()
  @Get('certifications/:id/exemptions/new')
  async bulkForm(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.renderBulkForm(res, id, memberFilter(query), { reason: '', endsOn: '' }, []);
  }

  @AdminOnly()
  @Get('certifications/:id/exemptions/confirm')
  async bulkConfirm(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    const filter = memberFilter(query);
    const answers = exemptionAnswers(query);
    const checked = checkExemption(answers, this.config.siteTimeZone);
    if (!checked.ok) return this.renderBulkForm(res, id, filter, answers, checked.errors);
    const count = await this.exemptions.countExemptable(id, filter);
    if (count === 0)
      return this.renderBulkForm(res, id, filter, answers, [fieldError('reason', 'No learners to exempt match this filter')]);
    const page = await this.certifications.page(id, 'completion');
    const zone = readerZone(res);
    renderPage(res, 'exemptions/confirm', {
      title: pageTitle(['Confirm exemption', page.certification.fullName]),
      certificationName: page.certification.fullName,
      affects: `This will exempt ${plural(count, 'learner')}`,
      selectionLabel: filterLabel(filter),
      reason: checked.value.reason,
      endsOn: checked.value.endsAt ? formatDate(checked.value.endsAt, zone) : 'No end date',
      action: this.urls.to('/certifications/', id, '/exemptions'),
      hidden: { ...filter, state: filter.state ?? '', ...answers },
      cancelHref: this.reportHref(id, filter),
    });
  }

  @Post('certifications/:id/exemptions')
  async bulkExempt(@Param('id', IdPipe) id: number, @Body() body: Record<string, unknown>, @Req() req: AppRequest, @Res() res: Response) {
    await orNotFound(this.em.findOne(Certification, { id }));
    const filter = memberFilter(body);
    const answers = exemptionAnswers(body);
    const checked = checkExemption(answers, this.config.siteTimeZone);
    if (!checked.ok) return this.renderBulkForm(res, id, filter, answers, checked.errors);
    const exempted = await this.exemptions.exemptMatching(id, filter, checked.value, req.staff!.id);
    flash(req, `${plural(exempted, 'learner')} exempted`);
    seeOther(res, this.reportHref(id, filter));
  }

  /** The learner, and a certification they are an active, not yet exempt, member of; a 404 page otherwise. */
  private async exemptable(learnerId: number, certificationValue: unknown) {
    const learner = await orNotFound(this.em.findOne(Learner, { id: learnerId }));
    const certificationId = idFrom(certificationValue);
    if (certificationId === null) throw new NotFoundException();
    const certification = await orNotFound(this.em.findOne(Certification, { id: certificationId }));
    const membership = await this.exemptions.membership(learnerId, certificationId);
    if (!membership || membership.exempt) throw new NotFoundException();
    return { learner, certification };
  }

  private renderLearnerForm(
    res: Response,
    learner: Learner,
    certification: Certification,
    answers: ExemptionAnswers,
    errors: FieldError[],
  ) {
    const name = `${learner.firstName} ${learner.lastName}`;
    renderFormPage(
      res,
      'exemptions/learner-form',
      {
        title: pageTitle(['Exempt from a certification', name, 'Learners'], errors.length > 0),
        learnerName: name,
        certificationName: certification.fullName,
        certificationId: certification.id,
        action: this.urls.to('/learners/', learner.id, '/exemptions'),
        backHref: this.urls.to('/learners/', learner.id),
        endsOnHint: endsOnHint(this.config.siteTimeZone),
      },
      answers,
      errors,
    );
  }

  private async renderBulkForm(res: Response, id: number, filter: MemberFilter, answers: ExemptionAnswers, errors: FieldError[]) {
    const page = await this.certifications.page(id, 'completion');
    const count = await this.exemptions.countExemptable(id, filter);
    renderFormPage(
      res,
      'exemptions/bulk-form',
      {
        title: pageTitle(['Exempt learners', page.certification.fullName], errors.length > 0),
        certificationName: page.certification.fullName,
        selectionLabel: filterLabel(filter),
        countText: `${plural(count, 'learner')} to exempt`,
        action: this.urls.to('/certifications/', id, '/exemptions/confirm'),
        filter: { q: filter.q, state: filter.state ?? '' },
        backHref: this.reportHref(id, filter),
        endsOnHint: endsOnHint(this.config.siteTimeZone),
      },
      answers,
      errors,
    );
  }

  private reportHref(id: number, filter: MemberFilter): string {
    return this.urls.withQuery(`/certifications/${id}/completion`, { q: filter.q || undefined, state: filter.state ?? undefined });
  }
}

/** The Completion report's search and state filter, as its query string gives them. */
function memberFilter(input: Record<string, unknown>): MemberFilter {
  const view = parseCompletionView(input);
  return { q: view.q, state: view.state };
}

function filterLabel(filter: MemberFilter): string {
  const state = filter.state ? `learners in state ${REPORT_STATE_LABELS[filter.state]}` : 'all learners';
  return `${state[0].toUpperCase()}${state.slice(1)}${filter.q ? ` matching “${filter.q}”` : ''}, except those exempt already`;
}

function endsOnHint(siteZone: string): string {
  return `Optional. The exemption ends at the end of this day in ${siteZone}, for example 2027-03-31`;
}
