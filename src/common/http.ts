import type { Request, Response } from 'express';
import type { SessionData } from 'express-session';

export interface SignedInStaff {
  id: number;
  username: string;
  displayName: string;
  role: 'admin' | 'viewer';
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
