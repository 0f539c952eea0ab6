import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { CertificationPage, CertificationsService } from '../certifications/certifications.service';
import { FieldError } from '../common/forms';
import { renderFormPage } from '../common/form-page';
import { AppRequest, flash, listedOrNotFound, orNotFound, renderPage, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { plural } from '../common/view-helpers';
import { MESSAGE_KINDS, MESSAGE_MOMENTS, MESSAGE_NAMES, MessageKind, OFFSET_KINDS } from './message-templates';
import { BODY_MAX, checkTemplateForm, SUBJECT_MAX } from './message-templates.dto';
import { MessageTemplate } from './message-template.entity';
import { MessageTemplatesService } from './message-templates.service';
import { fillPlaceholders, messageDate, PLACEHOLDERS } from './placeholders';

/** The Messages tab: the eight learner messages of a certification, each switched on or off and edited. */
@Controller('certifications/:id/messages')
export class MessageTemplatesController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly templates: MessageTemplatesService,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async list(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'messages');
    const templates = await this.templates.list(id);
    renderPage(res, 'messages/tab', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      placeholders: PLACEHOLDERS.map((p) => ({ code: `{${p.name}}`, description: p.description })),
      messages: templates.map((t) => ({
        name: MESSAGE_NAMES[t.kind],
        moment: MESSAGE_MOMENTS[t.kind],
        status: t.enabled ? 'On' : 'Off',
        subject: t.subject,
        offset: OFFSET_KINDS[t.kind] && t.offsetDays !== null ? `${plural(t.offsetDays, 'day')} before` : 'Not used',
        editHref: this.urls.to(`/certifications/${id}/messages/${t.kind}`),
      })),
    });
  }

  @AdminOnly()
  @Get(':kind')
  async editForm(@Param('id', IdPipe) id: number, @Param('kind') rawKind: string, @Res() res: Response) {
    const kind = listedOrNotFound(MESSAGE_KINDS, rawKind);
    const page = await this.certifications.page(id, 'messages');
    const template = await this.load(id, kind);
    const values = {
      enabled: template.enabled,
      subject: template.subject,
      body: template.body,
      offsetDays: template.offsetDays === null ? '' : String(template.offsetDays),
    };
    this.renderForm(res, page, template, values, []);
  }

  @Post(':kind')
  async update(
    @Param('id', IdPipe) id: number,
    @Param('kind') rawKind: string,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const kind = listedOrNotFound(MESSAGE_KINDS, rawKind);
    const page = await this.certifications.page(id, 'messages');
    const template = await this.load(id, kind);
    const form = checkTemplateForm(kind, body);
    if (!form.ok) {
      const text = (name: string) => (typeof body[name] === 'string' ? body[name] : '');
      const values = { enabled: body.enabled === 'yes', subject: text('subject'), body: text('body'), offsetDays: text('offsetDays') };
      return this.renderForm(res, page, template, values, form.errors);
    }
    await this.templates.update(id, kind, form.value, req.staff!.id);
    flash(req, `${MESSAGE_NAMES[kind]} message saved${form.value.enabled ? '' : ' (switched off)'}`);
    seeOther(res, this.urls.to(`/certifications/${id}/messages`));
  }

  private load(id: number, kind: MessageKind): Promise<MessageTemplate> {
    return orNotFound(this.templates.get(id, kind));
  }

  private renderForm(
    res: Response,
    page: CertificationPage,
    template: MessageTemplate,
    values: Record<string, unknown>,
    errors: FieldError[],
  ) {
    const name = MESSAGE_NAMES[template.kind];
    // An example of the message as a learner would read it, with made-up learner details.
    const example = {
      learner_first_name: 'Sam',
      learner_full_name: 'Sam Example',
      certification_name: page.certification.fullName,
      due_date: messageDate(new Date(Date.now() + 30 * 86400000), this.config.siteTimeZone),
      expiry_date: messageDate(new Date(Date.now() + 365 * 86400000), this.config.siteTimeZone),
      link: this.urls.absolute('/'),
    };
    renderFormPage(
      res,
      'messages/edit',
      {
        title: page.title(errors.length > 0, `${name} message – Messages`),
        tabs: page.tabs,
        certificationName: page.certification.fullName,
        heading: `${name} message`,
        moment: MESSAGE_MOMENTS[template.kind],
        offsetLabel: OFFSET_KINDS[template.kind] ?? null,
        subjectMax: SUBJECT_MAX,
        bodyMax: BODY_MAX.toLocaleString('en-GB'),
        action: this.urls.to(`/certifications/${page.certification.id}/messages/${template.kind}`),
        backHref: this.urls.to(`/certifications/${page.certification.id}/messages`),
        placeholders: PLACEHOLDERS.map((p) => ({ code: `{${p.name}}`, description: p.description })),
        example:
          errors.length > 0
            ? null
            : { subject: fillPlaceholders(template.subject, example), body: fillPlaceholders(template.body, example) },
      },
      values,
      errors,
    );
  }
}
