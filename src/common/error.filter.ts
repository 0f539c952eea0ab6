import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { SignInRequired } from '../auth/auth.guard';
import { UrlBuilder } from './url';
import { pageTitle } from './view-helpers';
import { isUnreachable } from '../database/database';
import { errorCode, errorFields } from './error-fields';

const PAGES: Record<number, { heading: string; message: string }> = {
  400: { heading: 'The request could not be understood', message: 'Go back, check what you entered and try again.' },
  403: { heading: 'You cannot do this', message: 'Your account does not allow this action.' },
  404: {
    heading: 'Page not found',
    message: 'If you typed the address, check it is correct. If you followed a link, it may be out of date.',
  },
  413: {
    heading: 'That was too large',
    message:
      'What you sent is larger than Certex accepts: a CSV file can be at most 110 MB, and a form at most 200 KB. Nothing was changed. Split a large file into smaller files and upload them one at a time.',
  },
  500: { heading: 'Sorry, something went wrong', message: 'Certex could not finish this request. Nothing was changed. Try again later.' },
  503: {
    heading: 'Certex is briefly unavailable',
    message: 'Certex cannot reach its database or its job queue just now. Try again in a minute.',
  },
};

/** PostgreSQL or Redis down or unreachable, anywhere in an error's chain (ORM errors wrap the driver's). */
function serviceUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const { name, previous, cause } = errorFields(e);
    if (isUnreachable(e) || name === 'KnexTimeoutError' || name === 'MaxRetriesPerRequestError') return true;
    e = previous ?? cause;
  }
  return false;
}

/** Every error becomes a complete page (or JSON for JSON clients) with no internals in it. */
@Catch()
export class ErrorPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly urls: UrlBuilder) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const req = ctx.getRequest<Request>();
    const res = ctx.getResponse<Response>();
    // A response that fails after it began (a CSV download) cannot become an error page: it is cut
    // off, so that the browser reports a failed download instead of waiting for the rest for ever.
    if (res.headersSent) {
      this.logger.error(exception instanceof Error ? exception.stack : String(exception), `${req.method} ${req.originalUrl}`);
      res.destroy();
      return;
    }

    if (exception instanceof SignInRequired) {
      const next = req.method === 'GET' ? req.originalUrl : undefined;
      res.redirect(303, this.urls.withQuery('/login', { next, ended: exception.sessionEnded ? 'timeout' : undefined }));
      return;
    }

    let status = 500;
    let detail: string | undefined;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const response = exception.getResponse();
      // Our own ForbiddenException messages are written for people; Nest's defaults are not shown.
      const text = errorFields(response).message;
      if (status === 403 && typeof text === 'string' && text !== 'Forbidden resource' && text !== 'Forbidden') detail = text;
    } else if (serviceUnreachable(exception)) {
      status = 503;
      res.setHeader('Retry-After', '30');
    } else if (exception && typeof exception === 'object') {
      const fields = errorFields(exception);
      const candidate = Number(fields.status ?? fields.statusCode);
      if (candidate >= 400 && candidate < 600) status = candidate;
      const code = errorCode(exception);
      if (code === 'EBADCSRFTOKEN' || code === 'ECROSSSITE') {
        detail = 'This form has expired or did not come from a Certex page. Go back, reload the page and try again. Nothing was changed.';
      }
    }
    if (status === 503) {
      this.logger.warn(`${req.method} ${req.originalUrl}: ${(exception as Error)?.message ?? exception}`);
    } else if (status >= 500) {
      this.logger.error(exception instanceof Error ? exception.stack : String(exception), `${req.method} ${req.originalUrl}`);
    }
    const page = PAGES[status] ?? (status < 500 ? PAGES[400] : PAGES[500]);
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ status, error: page.heading });
      return;
    }
    res.status(status).render('errors/error', {
      title: pageTitle([page.heading], false),
      heading: page.heading,
      message: detail ?? page.message,
      status,
    });
  }
}
