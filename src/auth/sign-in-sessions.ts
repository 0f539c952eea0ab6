import { Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import type { SessionData } from 'express-session';
import { generateToken } from '../common/csrf';
import { AppRequest, clientAddress, renderPage } from '../common/http';
import { pageTitle } from '../common/view-helpers';
import type { SignInMethod } from './staff.entity';
import { StaffService } from './staff.service';

/** A field of a sign-in log line: printed as key=value, strings quoted. */
type LogValue = string | number | boolean | null;

export function logLine(event: string, fields: Record<string, LogValue>): string {
  const parts = Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
  return [event, ...parts].join(' ');
}

/**
 * Starts the session of a person who has proved who they are, however they did, and logs every
 * sign-in and refusal in one structured line (`sign-in: outcome=… method=… staff_id=… address=…`).
 */
@Injectable()
export class SignInSessions {
  private readonly logger = new Logger('SignIn');

  constructor(private readonly staffService: StaffService) {}

  async start(req: AppRequest, staffId: number, method: SignInMethod, keep: Partial<SessionData> = {}): Promise<void> {
    // A new session id at sign-in, so that an id planted before sign-in is worthless.
    await new Promise<void>((done, fail) =>
      req.session.regenerate((error: unknown) =>
        error ? fail(error instanceof Error ? error : new Error('The session could not be regenerated', { cause: error })) : done(),
      ),
    );
    Object.assign(req.session, keep);
    req.session.staffId = staffId;
    req.session.signedInAt = Date.now();
    req.session.signInMethod = method;
    generateToken(req, true);
    await this.staffService.recordSignIn(staffId, method);
    this.logger.log(logLine('sign-in:', { outcome: 'signed-in', method, staff_id: staffId, address: clientAddress(req) }));
  }

  /** A refused sign-in: why, and whatever identifies the person trying (never a password). */
  refused(req: AppRequest, method: SignInMethod, reason: string, fields: Record<string, LogValue> = {}): void {
    this.logger.warn(logLine('sign-in:', { outcome: 'refused', method, reason, ...fields, address: clientAddress(req) }));
  }
}

/**
 * The 403 page for a person the provider vouched for who may not use Certex (in neither group,
 * or their account is disabled): what happened and whom to ask. Nothing was created or changed.
 */
export function renderNotAllowed(res: Response, reason: 'not-allowed' | 'disabled', adminEmail: string | null): void {
  const message =
    reason === 'disabled'
      ? 'Your Certex account has been disabled, so you cannot sign in.'
      : 'You signed in with your organisation’s account, but it is not allowed to use Certex: it is not in a group that Certex lets in.';
  renderPage(res, 'auth/not-allowed', { title: pageTitle(['Not allowed to use Certex']), message, adminEmail }, 403);
}
