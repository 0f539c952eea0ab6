import { Body, Controller, Get, Param, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CertificationsService } from '../certifications/certifications.service';
import { DUPLICATE_COURSE_POLICY_LABELS, PolicyRule, policyRules, TIME_ALLOWANCE_POLICY_LABELS } from '../certifications/exception-policy';
import { errorMap, FieldError, fieldError } from '../common/forms';
import { AppRequest, renderPage, seeOther } from '../common/http';
import { IdPipe } from '../common/id.pipe';
import { UrlBuilder } from '../common/url';
import { plural } from '../common/view-helpers';
import { BulkActionDraftsService } from './bulk-action-drafts.service';
import { ACTION_LABELS, conditionLabel, TYPE_LABELS } from './exception-rules';

/** The reason the bulk action that applies a policy to the open exceptions carries. */
export const APPLY_POLICY_REASON = 'Exception policy applied to the open exceptions';

/**
 * After a certification's exception policy is saved to handle a type: the offer to apply it to the
 * open exceptions of that type now, through the usual confirmation page and bulk action (audited
 * as the action of the person who confirms it).
 */
@Controller('certifications/:id/exception-policy')
export class ExceptionPolicyController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly drafts: BulkActionDraftsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async show(@Param('id', IdPipe) id: number, @Res() res: Response) {
    await this.render(res, id, []);
  }

  /** Continue: a confirmation of the policy's action over every open exception of the type. */
  @Post('apply')
  async apply(@Param('id', IdPipe) id: number, @Body() body: Record<string, unknown>, @Req() req: AppRequest, @Res() res: Response) {
    const page = await this.certifications.page(id, 'overview');
    const rule = policyRules(page.certification).find((r) => r.type === body.type);
    if (!rule) {
      return this.render(
        res,
        id,
        [fieldError('offers', 'The exception policy does not handle that type of exception: choose one of the offers below')],
        400,
      );
    }
    const prepared = await this.drafts.prepare(id, req.staff!.id, rule.action, APPLY_POLICY_REASON, {
      mode: 'condition',
      condition: rule.type,
      filter: { q: '', type: null, age: null },
      label: conditionLabel(rule.type),
    });
    if ('error' in prepared) return this.render(res, id, [fieldError('offers', prepared.error.message)], 409);
    seeOther(res, this.urls.to(`/certifications/${id}/exceptions/confirm/${prepared.token}`));
  }

  private async render(res: Response, id: number, errors: FieldError[], status = 200) {
    const page = await this.certifications.page(id, 'overview');
    const c = page.certification;
    const offers = policyRules(c)
      .map((rule: PolicyRule) => ({ rule, open: page.openByType[rule.type] ?? 0 }))
      .filter((offer) => offer.open > 0)
      .map(({ rule, open }) => ({
        type: rule.type,
        heading: `${TYPE_LABELS[rule.type]} exceptions`,
        text: `${plural(open, `open ${TYPE_LABELS[rule.type].toLowerCase()} exception`)} raised before the policy, held for an administrator.`,
        button: `${ACTION_LABELS[rule.action]} for ${plural(open, 'learner')}`,
        buttonId: `apply-${rule.type.replace('_', '-')}`,
      }));
    renderPage(
      res,
      'exceptions/policy',
      {
        title: page.title(errors.length > 0, 'Exception policy'),
        tabs: page.tabs,
        certificationName: c.fullName,
        timeAllowancePolicy: TIME_ALLOWANCE_POLICY_LABELS[c.timeAllowancePolicy],
        duplicateCoursePolicy: DUPLICATE_COURSE_POLICY_LABELS[c.duplicateCoursePolicy],
        offers,
        applyAction: this.urls.to(`/certifications/${id}/exception-policy/apply`),
        editHref: this.urls.to(`/certifications/${id}/edit`),
        overviewHref: this.urls.to(`/certifications/${id}`),
        reportHref: this.urls.to(`/certifications/${id}/exceptions`),
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
