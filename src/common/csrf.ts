import { csrfSync } from 'csrf-sync';

/** Synchroniser-token CSRF protection: the token lives in the session and is posted as _csrf. */
export const { generateToken, csrfSynchronisedProtection } = csrfSync({
  getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf ?? (req.headers['x-csrf-token'] as string | undefined),
  errorConfig: { statusCode: 403, message: 'The form could not be accepted', code: 'EBADCSRFTOKEN' },
});
