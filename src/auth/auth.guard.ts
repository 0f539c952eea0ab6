import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { ABSOLUTE_TIMEOUT_MS } from './session-policy';
import { AppRequest, setReaderZone } from '../common/http';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ADMIN_ONLY, PUBLIC_ROUTE, VIEWER_MAY_POST } from './auth.decorators';
import { StaffService } from './staff.service';
import { staffReadWithSession } from './session-store';

/** Thrown when a page needs a signed-in person; the error filter sends them to sign in. */
export class SignInRequired extends Error {
  constructor(readonly sessionEnded = false) {
    super('Sign in required');
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Every route: signed in (unless public), within the absolute timeout, and allowed by role. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly staffService: StaffService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const flag = (key: string) => this.reflector.getAllAndOverride<boolean>(key, [context.getHandler(), context.getClass()]);
    if (flag(PUBLIC_ROUTE)) return true;

    const req = context.switchToHttp().getRequest<AppRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const session = req.session;
    if (!session?.staffId) throw new SignInRequired();

    if (!session.signedInAt || Date.now() - session.signedInAt > ABSOLUTE_TIMEOUT_MS) {
      await new Promise<void>((done) => session.destroy(() => done()));
      throw new SignInRequired(true);
    }

    const readWithSession = staffReadWithSession(session, session.staffId);
    const staff = readWithSession === undefined ? await this.staffService.findActive(session.staffId) : readWithSession;
    if (!staff) {
      await new Promise<void>((done) => session.destroy(() => done()));
      throw new SignInRequired(true);
    }
    req.staff = staff;
    // What a signed-in person sees is theirs alone: never kept by the browser, so Back after
    // signing out shows nothing.
    res.setHeader('Cache-Control', 'no-store');
    res.locals.currentStaff = { ...staff, isAdmin: staff.role === 'admin' };
    setReaderZone(res, staff.timeZone ?? this.config.siteTimeZone);

    if (staff.role === 'admin') return true;
    if (flag(ADMIN_ONLY)) throw new ForbiddenException('Only a site administrator can do this.');
    if (!SAFE_METHODS.has(req.method) && !flag(VIEWER_MAY_POST)) {
      throw new ForbiddenException('Only a site administrator can change anything. Your account can view pages and reports.');
    }
    return true;
  }
}
