import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import querystring from 'node:querystring';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import hbs from 'hbs';
import { csrfSynchronisedProtection, generateToken } from './common/csrf';
import { Pool } from 'pg';
import { AppConfig, embeddingAllowed } from './config/config';
import { UrlBuilder } from './common/url';
import { viewHelpers } from './common/view-helpers';
import { AppRequest, setReaderZone, takeFlash } from './common/http';
import { mainNavigation } from './common/navigation';
import { PUBLIC_DIR, VIEWS_DIR } from './paths';
import { IDLE_TIMEOUT_MS, SESSION_REFRESH_MS } from './auth/session-policy';
import { ProxySignIn } from './auth/proxy-sign-in';
import { SessionStore } from './auth/session-store';

const FORM_BODY_LIMIT = '200kb';
/** CSV uploads: 100,000 learners take about 10 MB; 110 MB leaves room for large completion files. */
export const UPLOAD_LIMIT_BYTES = 110 * 1024 * 1024;

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A POST must come from a page of this app: a browser's Sec-Fetch-Site or Origin saying
 * otherwise is refused before the CSRF token is even looked at.
 */
function sameOriginOnly(req: Request, res: Response, next: NextFunction) {
  if (!UNSAFE_METHODS.has(req.method)) return next();
  // Sec-Fetch-Site is set by the browser alone and cannot be forged by a page, so when it is
  // present it decides; older browsers are judged by Origin.
  const site = req.headers['sec-fetch-site'];
  if (site) {
    if (site === 'same-origin' || site === 'none') return next();
    return next(Object.assign(new Error('Cross-site request refused'), { status: 403, code: 'ECROSSSITE' }));
  }
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let from: URL | null = null;
    try {
      from = origin === 'null' ? null : new URL(origin);
    } catch {
      from = null;
    }
    if (from === null || from.host !== req.headers.host || from.protocol !== `${req.protocol}:`) {
      return next(Object.assign(new Error('Cross-origin request refused'), { status: 403, code: 'ECROSSSITE' }));
    }
  }
  next();
}

function withoutNul<T>(value: T): T {
  // eslint-disable-next-line no-control-regex
  if (typeof value === 'string') return value.replace(/\u0000/g, '') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withoutNul(inner)])) as T;
  }
  return value;
}

/**
 * The idle timeout without a database write on every request: a signed-in session is saved again
 * (a new expiry in the store and in the cookie) when its last save is more than a minute old, so a
 * page costs no session write while the person keeps working, and an idle session ends 29 to 30
 * minutes after their last request.
 */
function keepSessionAlive(req: Request, _res: Response, next: NextFunction): void {
  const session = (req as AppRequest).session;
  if (session?.staffId && Date.now() - (session.savedAt ?? 0) >= SESSION_REFRESH_MS) session.savedAt = Date.now();
  next();
}

/** Registers views/partials/*.hbs by file name (hbs's own loader would turn dashes into underscores). */
async function registerPartials(dir: string) {
  for (const file of await readdir(dir)) {
    if (file.endsWith('.hbs')) hbs.registerPartial(file.slice(0, -4), await readFile(resolve(dir, file), 'utf8'));
  }
}

/** Views, static files and security middleware: the same for main.ts and the tests. */
export async function configureApp(app: NestExpressApplication, config: AppConfig, sessionPool: Pool): Promise<void> {
  const urls = new UrlBuilder(config.basePath);
  const expressApp = app.getHttpAdapter().getInstance();
  expressApp.disable('x-powered-by');
  // Every signed-in page is sent with Cache-Control: no-store, so an ETag (a hash of each body) would
  // never be asked for again; static files keep theirs (express.static sets its own).
  expressApp.disable('etag');
  // X-Forwarded-For and -Proto are believed from a TLS proxy on this machine, and from the
  // authenticating proxy (AUTH_PROXY_ADDRESSES) whose word Certex takes for who the person is anyway,
  // so that logs and sign-in throttling see the client's address. The proxy's own header is judged
  // by the connection's peer address alone (auth/proxy-sign-in.ts), never by these.
  app.set('trust proxy', ['loopback', ...(config.authProxy?.addresses ?? []).map(({ address, prefix }) => `${address}/${prefix}`)]);
  // PostgreSQL text cannot hold a NUL character: it is dropped from every query string and form
  // value as they are read, so that no input can reach the database with one.
  app.set('query parser', (query: string) => withoutNul(querystring.parse(query)));

  app.setBaseViewsDir(VIEWS_DIR);
  app.setViewEngine('hbs');
  app.set('view options', { layout: 'layouts/main' });
  // Compiled templates are kept (as Express does for NODE_ENV=production), except in development.
  app.set('view cache', config.nodeEnv !== 'development');
  for (const [name, helper] of Object.entries(viewHelpers(urls))) hbs.registerHelper(name, helper);
  await registerPartials(resolve(VIEWS_DIR, 'partials'));
  app.enableShutdownHooks();

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.locals.cspNonce = randomBytes(16).toString('base64');
    // The site's zone; the auth guard puts a signed-in person's own zone in its place.
    setReaderZone(res, config.siteTimeZone);
    next();
  });
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", (_req, res) => `'nonce-${(res as Response).locals.cspNonce}'`],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          // Signing out after single sign-on is a form answered with a redirect to the provider,
          // which Chromium holds to form-action as well.
          formAction: ["'self'", ...(config.oidc ? [new URL(config.oidc.issuerUrl).origin] : [])],
          frameAncestors: config.frameAncestors,
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
        },
      },
      xFrameOptions: embeddingAllowed(config) ? false : { action: 'sameorigin' },
      strictTransportSecurity: config.cookieSecure,
      // same-origin (not no-referrer), so that browsers still send a real Origin on our own forms.
      referrerPolicy: { policy: 'same-origin' },
    }),
  );
  app.useStaticAssets(PUBLIC_DIR, { prefix: urls.to('/assets/'), maxAge: config.production ? '1h' : 0 });

  const sessionMiddleware = session({
    name: 'certex.sid',
    // Written when something in it changed, never merely touched: see keepSessionAlive.
    store: new SessionStore(sessionPool),
    secret: config.sessionSecret,
    resave: false,
    saveUninitialized: false,
    rolling: false,
    cookie: {
      httpOnly: true,
      // A portal on another site can only keep the session inside its frame with SameSite=None,
      // which browsers accept only on Secure (HTTPS) cookies. A portal on the same site (another
      // host or port of the same domain) works with Lax.
      sameSite: config.cookieSecure && embeddingAllowed(config) ? 'none' : 'lax',
      secure: config.cookieSecure,
      maxAge: IDLE_TIMEOUT_MS,
      path: config.basePath || '/',
    },
  });
  const healthPath = urls.to('/health');
  app.use((req: Request, res: Response, next: NextFunction) => (req.path === healthPath ? next() : sessionMiddleware(req, res, next)));
  // Before the CSRF check and the guard: a person the authenticating proxy names is signed in first.
  const proxySignIn = app.get(ProxySignIn).middleware();
  if (proxySignIn) app.use(proxySignIn);
  app.use(keepSessionAlive);
  app.use(express.urlencoded({ extended: false, limit: FORM_BODY_LIMIT, parameterLimit: 5000 }));
  app.use(express.json({ limit: FORM_BODY_LIMIT }));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (req.body && typeof req.body === 'object') req.body = withoutNul<unknown>(req.body);
    next();
  });
  // A multipart body (a CSV upload) is read only by its route, after the origin, CSRF and role
  // checks (learners/csv-file.interceptor.ts): its form sends the CSRF token in the address.
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (req.is('multipart/form-data') && !req.session?.staffId) return next(Object.assign(new Error('Sign in to upload'), { status: 403 }));
    next();
  });
  app.use(sameOriginOnly);
  app.use((req: Request, res: Response, next: NextFunction) =>
    req.path === healthPath ? next() : csrfSynchronisedProtection(req, res, next),
  );
  const loginPath = urls.to('/login');
  app.use((req: Request, res: Response, next: NextFunction) => {
    // A token is made only on the sign-in page and at sign-in: any other request from a visitor
    // without a session (a favicon, a 404) must not start a second session in parallel.
    if (req.session && (req.session.csrfToken || req.path === loginPath)) {
      res.locals.csrfToken = generateToken(req);
    }
    if (req.session) res.locals.flash = takeFlash(req);
    res.locals.basePath = config.basePath;
    res.locals.currentPath = req.path;
    res.locals.navigation = mainNavigation(urls, req.path);
    next();
  });
  if (config.basePath) app.setGlobalPrefix(config.basePath);
}
