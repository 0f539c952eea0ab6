import { NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { SessionData } from 'express-session';
import { zoneLabel } from './time-zone';

export interface SignedInStaff {
  id: number;
  username: string;
  displayName: string;
  role: 'admin' | 'viewer';
  /** The person's own time zone, or null for the site's. */
  timeZone: string | null;
}

export type AppRequest = Request & { staff?: SignedInStaff; session: Request['session'] & Partial<SessionData> };

/**
 * Answers a form POST the way every change is answered: 303 See Other. The session (a success
 * message, a new token) is saved first: express-session would otherwise send the redirect's
 * headers while still saving, and a fast browser could fetch the next page before it is stored.
 */
export function seeOther(res: Response, location: string): void {
  const session = (res.req as Request | undefined)?.session;
  if (session) session.save(() => res.redirect(303, location));
  else res.redirect(303, location);
}

/** Stores a one-time success message to show on the next page. */
export function flash(req: Request, message: string): void {
  req.session.flash = message;
}

export function takeFlash(req: Request): string | undefined {
  // Undefined on the few paths that skip the session middleware (health).
  const session = req.session as Request['session'] | undefined;
  const message = session?.flash;
  if (session && message !== undefined) delete session.flash;
  return message;
}

/** Renders a page with a status; the model is a plain view-model, never an entity. */
export function renderPage(res: Response, view: string, model: Record<string, unknown>, status = 200): void {
  res.status(status).render(view, model);
}

export function clientAddress(req: Request): string {
  return (req.ip ?? req.socket.remoteAddress ?? 'unknown').slice(0, 64);
}

/** What a lookup found, or a 404 page when it found nothing. */
export async function orNotFound<T>(lookup: Promise<T | null | undefined>): Promise<T> {
  const found = await lookup;
  if (found === null || found === undefined) throw new NotFoundException();
  return found;
}

/** A route parameter that must be one of a fixed list of values; any other is a 404 page. */
export function listedOrNotFound<T extends string>(values: readonly T[], value: unknown): T {
  if (!values.includes(value as T)) throw new NotFoundException();
  return value as T;
}

/**
 * The zone this response shows times in: every page names it in the footer, and the `date` and
 * `datetime` helpers read it from the render data. The site's zone, or a signed-in person's own.
 */
export function setReaderZone(res: Response, zone: string): void {
  res.locals.timeZone = zone;
  res.locals.timeZoneLabel = zoneLabel(zone);
}

/** The zone set by setReaderZone for this response. */
export function readerZone(res: Response): string {
  const zone: unknown = res.locals.timeZone;
  if (typeof zone !== 'string') throw new Error('the reader’s time zone was not set for this response');
  return zone;
}
