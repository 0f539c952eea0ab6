import { Body, Controller, Get, Logger, Param, Post, Req, Res } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AppRequest, flash, orNotFound, renderPage, seeOther } from '../common/http';
import { errorMap, FieldError, fieldError, validateForm } from '../common/forms';
import { pageTitle } from '../common/view-helpers';
import { UrlBuilder } from '../common/url';
import { AdminOnly } from './auth.decorators';
import { CreateStaffForm, EditStaffForm } from './staff.dto';
import { ROLE_LABELS, SIGN_IN_METHOD_LABELS, Staff } from './staff.entity';
import { StaffRuleError, StaffService } from './staff.service';
import { FAILURE_WINDOW_MINUTES, MAX_FAILURES_PER_USERNAME } from './session-policy';
import { signedOutPath } from './proxy-sign-in';

const ROLE_OPTIONS = Object.entries(ROLE_LABELS).map(([value, label]) => ({ value, label }));

function roleOptions(selected: unknown) {
  return ROLE_OPTIONS.map((option) => ({ ...option, selected: option.value === selected }));
}

/**
 * How a person signs in: how they last did; never signed in, how their account can (an identity
 * provider's account through single sign-on or the proxy, otherwise a password).
 */
export function signInMethodLabel(staff: Pick<Staff, 'lastSignInMethod' | 'identityIssuer' | 'passwordHash'>): string {
  if (staff.lastSignInMethod) return SIGN_IN_METHOD_LABELS[staff.lastSignInMethod];
  if (staff.identityIssuer === 'proxy') return SIGN_IN_METHOD_LABELS.proxy;
  if (staff.identityIssuer) return SIGN_IN_METHOD_LABELS.oidc;
  return staff.passwordHash ? SIGN_IN_METHOD_LABELS.password : 'None';
}

@Controller('admin/staff')
export class StaffController {
  private readonly logger = new Logger(StaffController.name);

  constructor(
    private readonly staffService: StaffService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Res() res: Response) {
    const staff = await this.staffService.list();
    renderPage(res, 'admin/staff-list', {
      title: pageTitle(['Staff']),
      staff: staff.map((member) => ({
        id: member.id,
        username: member.username,
        displayName: member.displayName,
        role: ROLE_LABELS[member.role],
        status: member.disabled ? 'Disabled' : 'Active',
        signInMethod: signInMethodLabel(member),
        lastSignedInAt: member.lastSignedInAt,
        editHref: this.urls.to('/admin/staff/', member.id),
      })),
    });
  }

  @AdminOnly()
  @Get('new')
  newForm(@Res() res: Response) {
    this.renderCreate(res, { role: 'viewer' }, []);
  }

  @Post()
  async create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const form = validateForm(CreateStaffForm, body);
    if (!form.ok) return this.renderCreate(res, form.values, form.errors, 400);
    try {
      const staff = await this.staffService.create(form.value);
      flash(req, `Staff account “${staff.displayName}” created`);
      seeOther(res, this.urls.to('/admin/staff'));
    } catch (error) {
      if (error instanceof StaffRuleError) return this.renderCreate(res, { ...form.value }, [fieldError(error.field, error.message)], 400);
      throw error;
    }
  }

  @AdminOnly()
  @Get(':id')
  async editForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const staff = await this.load(id);
    this.renderEdit(res, staff, { displayName: staff.displayName, role: staff.role, disabled: staff.disabled, email: staff.email }, []);
  }

  @Post(':id')
  async update(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const staff = await this.load(id);
    const form = validateForm(EditStaffForm, body);
    if (!form.ok) {
      return this.renderEdit(res, staff, { ...form.values, disabled: form.values.disabled === 'yes' }, form.errors, 400);
    }
    try {
      const updated = await this.staffService.update(id, req.staff!.id, form.value, req.sessionID);
      flash(req, `Staff account “${updated.displayName}” saved`);
      seeOther(res, this.urls.to('/admin/staff'));
    } catch (error) {
      if (error instanceof StaffRuleError) {
        return this.renderEdit(res, staff, { ...form.value }, [fieldError(error.field, error.message)], 400);
      }
      throw error;
    }
  }

  @Post(':id/sign-in-throttle/clear')
  async clearSignInThrottle(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response) {
    const staff = await this.load(id);
    const cleared = await this.staffService.clearSignInThrottle(staff.username);
    this.logger.log(
      `sign-in throttle cleared: staff_id=${staff.id} username=${JSON.stringify(staff.username)} attempts=${cleared} by_staff_id=${req.staff!.id}`,
    );
    flash(req, `Failed sign-in attempts for “${staff.displayName}” cleared: they can sign in again at once`);
    seeOther(res, this.urls.to('/admin/staff/', staff.id));
  }

  /** Signs the person out everywhere; an administrator ending their own sessions is signed out too. */
  @Post(':id/sessions/end')
  async endSessions(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response) {
    const staff = await this.load(id);
    const ended = await this.staffService.endSessions(staff.id);
    this.logger.log(
      `sessions ended: staff_id=${staff.id} username=${JSON.stringify(staff.username)} sessions=${ended} by_staff_id=${req.staff!.id}`,
    );
    if (staff.id === req.staff!.id) {
      const method = req.session.signInMethod;
      // Destroyed, not just deleted: otherwise the end of this request would store it again.
      await new Promise<void>((done) => req.session.destroy(() => done()));
      res.clearCookie('certex.sid', { path: this.urls.basePath || '/' });
      return seeOther(res, this.urls.to(signedOutPath(method)));
    }
    flash(req, `All sessions of ${staff.displayName} ended`);
    seeOther(res, this.urls.to('/admin/staff/', staff.id));
  }

  private load(id: number): Promise<Staff> {
    return orNotFound(this.staffService.get(id));
  }

  private renderCreate(res: Response, values: Record<string, unknown>, errors: FieldError[], status = 200) {
    renderPage(
      res,
      'admin/staff-form',
      {
        title: pageTitle(['Add a staff account', 'Staff'], errors.length > 0),
        heading: 'Add a staff account',
        action: this.urls.to('/admin/staff'),
        creating: true,
        values: { username: values.username, displayName: values.displayName, email: values.email },
        roles: roleOptions(values.role),
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }

  private renderEdit(res: Response, staff: Staff, values: Record<string, unknown>, errors: FieldError[], status = 200) {
    renderPage(
      res,
      'admin/staff-form',
      {
        title: pageTitle([`Edit ${staff.displayName}`, 'Staff'], errors.length > 0),
        heading: `Edit ${staff.displayName}`,
        action: this.urls.to('/admin/staff/', staff.id),
        clearThrottleAction: this.urls.to('/admin/staff/', staff.id, '/sign-in-throttle/clear'),
        endSessionsAction: this.urls.to('/admin/staff/', staff.id, '/sessions/end'),
        signInMethod: signInMethodLabel(staff),
        lastSignedInAt: staff.lastSignedInAt,
        signsInThroughProxy: staff.identityIssuer === 'proxy',
        ownAccount: staff.id === (res.req as AppRequest).staff?.id,
        personName: staff.displayName,
        throttleLimit: MAX_FAILURES_PER_USERNAME,
        throttleWindowMinutes: FAILURE_WINDOW_MINUTES,
        creating: false,
        username: staff.username,
        values: { displayName: values.displayName, disabled: values.disabled === true, email: values.email },
        roles: roleOptions(values.role),
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
