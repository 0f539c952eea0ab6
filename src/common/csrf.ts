import { csrfSync } from 'csrf-sync';

/**
 * Synchroniser-token CSRF protection: the token lives in the session and is posted as _csrf. A
 * multipart form (an upload) carries it in its address instead, so that it is checked before the
 * body is read.
 */
export const { generateToken, csrfSynchronisedProtection } = csrfSync({
  getTokenFromRequest: (req) => {
    const header = req.headers['x-csrf-token'] as string | undefined;
    if (req.is('multipart/form-data')) {
      const query: unknown = req.query._csrf;
      return typeof query === 'string' ? query : header;
    }
    return (req.body as { _csrf?: string } | undefined)?._csrf ?? header;
  },
  errorConfig: { statusCode: 403, message: 'The form could not be accepted', code: 'EBADCSRFTOKEN' },
});
