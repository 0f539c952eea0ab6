import { Body, Controller, Get, Inject, NotFoundException, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { FieldError, fieldError } from '../common/forms';
import { renderFormPage } from '../common/form-page';
import { validateForm } from '../common/forms';
import { AppRequest, flash, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { pageTitle, plural } from '../common/view-helpers';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ROLE_LABELS } from '../auth/staff.entity';
import { ViewerMayPost } from '../auth/auth.decorators';
import { isListedTimeZone, timeZoneNames, zoneLabel } from '../common/time-zone';
import { AdminNoticeService, StaffAccount } from './admin-notice.service';
import { NoticeSettingsForm } from './admin-notice.dto';

/**
 * The signed-in person's account page: who they are, the time zone they read and type times in
 * (anyone may choose theirs), and, for administrators, the email about exceptions that need
 * attention. Saving the notice settings is for administrators only (viewers get no notice).
 */
@Controller('account')
export class AccountController {
  constructor(
    private readonly notices: AdminNoticeService,
    private readonly urls: UrlBuilder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  async show(@Req() req: AppRequest, @Res() res: Response) {
    const account = await this.load(req);
    this.render(res, account, { email: account.email ?? '', notifyExceptions: account.notifyExceptions }, []);
  }

  @Post()
  async save(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const account = await this.load(req);
    const form = validateForm(NoticeSettingsForm, body);
    if (!form.ok) {
      const values = { email: typeof body.email === 'string' ? body.email : '', notifyExceptions: body.notifyExceptions === 'yes' };
      return this.render(res, account, values, form.errors);
    }
    const notify = form.value.notifyExceptions === 'yes';
    await this.notices.saveNoticeSettings(account.id, form.value.email || null, notify);
    flash(req, notify ? 'Saved: you will be emailed when exceptions need attention' : 'Saved: you will not be emailed about exceptions');
    seeOther(res, this.urls.to('/account'));
  }

  /** The person's own time zone; the empty choice is the site's. A zone not in the list changes nothing. */
  @ViewerMayPost()
  @Post('time-zone')
  async saveTimeZone(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const account = await this.load(req);
    const chosen = body.timeZone;
    if (chosen !== '' && !isListedTimeZone(chosen)) {
      const values = { email: account.email ?? '', notifyExceptions: account.notifyExceptions, timeZone: account.timeZone ?? '' };
      return this.render(res, account, values, [fieldError('timeZone', 'Choose a time zone from the list')]);
    }
    await this.notices.saveTimeZone(account.id, chosen === '' ? null : chosen);
    const zone = chosen === '' ? this.config.siteTimeZone : chosen;
    flash(req, `Saved: times are shown in ${zoneLabel(zone)}${chosen === '' ? ', the site’s time zone' : ''}`);
    seeOther(res, this.urls.to('/account'));
  }

  private async load(req: AppRequest): Promise<StaffAccount> {
    const account = await this.notices.account(req.staff!.id);
    if (!account) throw new NotFoundException();
    return account;
  }

  /** "Site default (zone)" first, then every zone the runtime knows. */
  private zoneOptions(selected: string) {
    return [
      { value: '', label: `Site default (${this.config.siteTimeZone})`, selected: selected === '' },
      ...timeZoneNames().map((zone) => ({ value: zone, label: zone, selected: zone === selected })),
    ];
  }

  private render(res: Response, account: StaffAccount, values: Record<string, unknown>, errors: FieldError[]) {
    renderFormPage(
      res,
      'messages/account',
      {
        title: pageTitle(['Your account'], errors.length > 0),
        account: { displayName: account.displayName, username: account.username, role: ROLE_LABELS[account.role] },
        isAdmin: account.role === 'admin',
        action: this.urls.to('/account'),
        interval: plural(this.config.adminNoticeIntervalMinutes, 'minute'),
        timeZoneAction: this.urls.to('/account/time-zone'),
        timeZones: this.zoneOptions(typeof values.timeZone === 'string' ? values.timeZone : (account.timeZone ?? '')),
      },
      values,
      errors,
    );
  }
}
