import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import type { PoolClient } from 'pg';
import { TEST_PASSWORD } from '../support/app';
import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { appRoutes, fillPath } from '../support/routes';

/**
 * Issue 7, item 4: every page of the app, in every state, under BASE_PATH and at 320 px wide, has
 * no axe violations and no sideways scrolling; the flow works inside a portal's frame; and the
 * whole exception flow works with the keyboard alone, with a visible focus at every stop.
 */

// The sweep of every page state takes about 5 minutes on a quiet 2-core machine beside the rest of
// the suite, and up to 15 at load 15; the limit is for a sweep that hangs, not a slow one.
jest.setTimeout(1_200_000);

const BASE_PATH = '/intranet/certex';
const DESKTOP = { width: 1280, height: 720 };
const NARROW = { width: 320, height: 640 };

/** GET routes that answer with something other than an HTML page (checked to be so below). */
const NOT_PAGES: Record<string, string> = {
  '/health': 'JSON status of PostgreSQL and Redis',
  '/admin/bulk-actions/:id/status': 'JSON progress, polled by the progress page',
  '/certifications/:id/exceptions.csv': 'CSV download',
  '/certifications/:id/completion.csv': 'CSV download',
  '/certifications/:id/membership.csv': 'CSV download',
  '/admin/bulk-actions/:id/learners.csv': 'CSV download',
  '/exceptions.csv': 'CSV download',
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** A staff portal on another port of localhost whose page frames the URL given in ?src=. */
async function startPortal(): Promise<{ origin: string; server: Server; pageFraming(src: string): string }> {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? '';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Staff portal</title></head>` +
        `<body><header><h1>Staff portal</h1></header><main>` +
        `<iframe src="${escape(src)}" title="Certex" style="width:100%;height:640px;border:0"></iframe></main></body></html>`,
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return { origin, server, pageFraming: (src) => `${origin}/?src=${encodeURIComponent(src)}` };
}

/** Problems with the page at 320 px: sideways scrolling, or a scrolling region a keyboard user cannot reach. */
async function reflowProblems(page: Page): Promise<string[]> {
  await page.setViewportSize(NARROW);
  try {
    return await page.evaluate((limit) => {
      const problems: string[] = [];
      const describe = (el: Element) =>
        el.tagName.toLowerCase() +
        (el.id ? `#${el.id}` : '') +
        (typeof el.className === 'string' && el.className.trim() ? `.${el.className.trim().split(/\s+/).join('.')}` : '');
      const root = document.documentElement;
      const all = Array.from(document.body.querySelectorAll('*'));
      if (root.scrollWidth > limit) {
        // The deepest elements that stick out or spill text past the edge, outside any scrolling region.
        const clipped = (el: Element) => {
          // An absolutely placed element escapes the scrolling boxes between it and its containing block.
          const position = getComputedStyle(el).position;
          let escapes = position === 'absolute' || position === 'fixed';
          for (let p = el.parentElement; p; p = p.parentElement) {
            const style = getComputedStyle(p);
            if (escapes && position === 'absolute' && style.position !== 'static') escapes = false;
            if (!escapes && style.overflowX !== 'visible') return true;
          }
          return false;
        };
        const spills = (el: Element) => {
          const r = el.getBoundingClientRect();
          return r.right > limit + 0.5 || (getComputedStyle(el).overflowX === 'visible' && r.left + el.scrollWidth > limit + 0.5);
        };
        const spilling = all.filter((el) => spills(el) && !clipped(el));
        const culprits = spilling.filter((el) => !spilling.some((other) => other !== el && el.contains(other))).slice(0, 5);
        problems.push(`the page scrolls sideways (${root.scrollWidth} px wide): ${culprits.map(describe).join(', ')}`);
      }
      for (const el of all) {
        if (el.matches('input, select, textarea') || el.scrollWidth <= el.clientWidth) continue;
        if (!/auto|scroll/.test(getComputedStyle(el).overflowX)) continue;
        const labelledBy = (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean);
        const name =
          el.getAttribute('aria-label') ||
          labelledBy
            .map((id: string) => document.getElementById(id)?.textContent?.trim() ?? '')
            .join(' ')
            .trim();
        if (el.getAttribute('tabindex') !== '0' || el.getAttribute('role') !== 'region' || !name) {
          problems.push(`${describe(el)} scrolls sideways but is not a focusable (tabindex=0), named region`);
        }
      }
      return problems;
    }, NARROW.width);
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}

interface FocusStop {
  /** tag#id "accessible text" */
  description: string;
  problems: string[];
}

/** The focused element, whether it is in the viewport and whether its focus indicator is visible. */
async function focusStop(page: Page): Promise<FocusStop> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    // Past the last stop the focus leaves the page for the browser's own controls.
    if (!el || el === document.body) return { description: 'body', problems: [] };
    const labels = (el as HTMLInputElement).labels;
    const text = (el.getAttribute('aria-label') || (labels && labels[0]?.textContent) || el.textContent || '')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 60);
    const description = `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${text}"`;
    const problems: string[] = [];

    const rect = el.getBoundingClientRect();
    // Wholly in the viewport across; down, at least 24 px of it (a tall textarea is scrolled to only partly).
    const shown = Math.min(rect.bottom, innerHeight) - Math.max(rect.top, 0);
    if (rect.width < 1 || rect.left < 0 || rect.right > innerWidth || shown < Math.min(rect.height, 24) || rect.height < 1) {
      problems.push(
        `not in the viewport (${Math.round(rect.left)},${Math.round(rect.top)} ${Math.round(rect.width)}×${Math.round(rect.height)})`,
      );
    }

    type Look = { outlineStyle: string; outlineWidth: string; outlineColor: string; boxShadow: string };
    const look = (): Look => {
      const s = getComputedStyle(el);
      return { outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, outlineColor: s.outlineColor, boxShadow: s.boxShadow };
    };
    const focused = look();
    el.blur();
    const unfocused = look();
    el.focus({ preventScroll: true });
    if (JSON.stringify(focused) === JSON.stringify(unfocused)) problems.push('looks the same focused and unfocused');

    const rgb = (color: string) => (color.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) => {
      const linear = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    };
    const contrast = (a: number[], b: number[]) => {
      const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
      return (l1 + 0.05) / (l2 + 0.05);
    };
    // The indicator's rings: an outline and box-shadow spreads of at least 2 px.
    const rings: number[][] = [];
    if (focused.outlineStyle !== 'none' && parseFloat(focused.outlineWidth) >= 2) rings.push(rgb(focused.outlineColor));
    for (const shadow of focused.boxShadow === 'none' ? [] : focused.boxShadow.split(/,(?![^(]*\))/)) {
      const color = shadow.match(/rgba?\([^)]*\)/)?.[0];
      const lengths =
        shadow
          .replace(/rgba?\([^)]*\)/, '')
          .match(/-?[\d.]+px/g)
          ?.map(parseFloat) ?? [];
      if (color && (lengths[3] ?? 0) >= 2 && rgb(color)[3] !== 0) rings.push(rgb(color));
    }
    // What the rings are drawn against: the nearest background behind the element.
    let background = [255, 255, 255];
    for (let node = el.parentElement; node; node = node.parentElement) {
      const color = rgb(getComputedStyle(node).backgroundColor);
      if (color.length === 3 || (color.length === 4 && color[3] > 0)) {
        background = color.slice(0, 3);
        break;
      }
    }
    const best = Math.max(0, ...rings.map((ring) => contrast(ring, background)));
    if (rings.length === 0) problems.push('has no focus outline or ring of 2 px or more');
    else if (best < 3) problems.push(`focus indicator contrast ${best.toFixed(2)}:1 against its background, below 3:1`);
    return { description, problems };
  });
}

describe('the accessibility sweep', () => {
  let b: BrowserApp;
  let portal: Awaited<ReturnType<typeof startPortal>>;
  let strangerPortal: Awaited<ReturnType<typeof startPortal>>;
  let appOrigin: string;
  /** Problems found by every test, in every context: responses outside BASE_PATH, failed assets. */
  const networkProblems: string[] = [];
  /** Stylesheets and scripts served, so that the checks above are known to have seen some. */
  let assetsServed = 0;

  beforeAll(async () => {
    [portal, strangerPortal] = await Promise.all([startPortal(), startPortal()]);
    // With single sign-on set up (a real OpenID provider in its own process): its button and pages are swept too.
    b = await startBrowserApp({ BASE_PATH, FRAME_ANCESTORS: portal.origin }, { host: 'localhost', singleSignOn: {} });
    appOrigin = new URL(b.baseUrl).origin;
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await b.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
  });
  afterAll(async () => {
    await b?.shutdown();
    for (const p of [portal, strangerPortal]) await new Promise((done) => p?.server.close(done));
  });

  /** Every request of the context to the app must stay under BASE_PATH; no asset or script call may fail. */
  function watch(context: BrowserContext): BrowserContext {
    context.on('response', (response) => {
      const url = response.url();
      if (!url.startsWith(appOrigin)) return;
      if (!url.startsWith(b.baseUrl + '/')) networkProblems.push(`requested outside ${BASE_PATH}: ${url}`);
      if (['stylesheet', 'script'].includes(response.request().resourceType()) && response.status() < 400) assetsServed++;
      if (response.status() >= 400 && response.request().resourceType() !== 'document') {
        networkProblems.push(`${response.status()} for ${response.request().resourceType()} ${url}`);
      }
    });
    context.on('requestfailed', (request) => {
      // ERR_ABORTED: the page was left before the request ended (a favicon still loading).
      const error = request.failure()?.errorText;
      if (request.url().startsWith(appOrigin) && error !== 'net::ERR_ABORTED') networkProblems.push(`failed: ${request.url()} (${error})`);
    });
    return context;
  }

  async function signIn(username: string): Promise<Page> {
    const page = await watch(await b.context()).newPage();
    await page.goto(`${b.baseUrl}/login`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(TEST_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${b.baseUrl}/certifications`);
    return page;
  }

  /** Holds a row lock on a membership, so that a bulk action over it stays Running until released. */
  async function holdMembership(membershipId: number): Promise<() => Promise<void>> {
    const locker: PoolClient = await b.db.connect();
    await locker.query('begin');
    await locker.query('select id from membership where id = $1 for update', [membershipId]);
    return async () => {
      await locker.query('rollback');
      locker.release();
    };
  }

  async function waitForBulkState(id: number, states: string[]) {
    for (let i = 0; ; i++) {
      const { rows } = await b.db.query('select state from bulk_action where id = $1', [id]);
      if (states.includes(rows[0]?.state)) return rows[0].state;
      if (i > 300) throw new Error(`bulk action ${id} still ${rows[0]?.state}`);
      await sleep(100);
    }
  }

  const bulkActionIdOf = (page: Page | Frame) => Number(/\/admin\/bulk-actions\/(\d+)/.exec(page.url())![1]);

  it('every GET route in every state: no axe violations, no sideways scrolling at 320 px, every link and asset under BASE_PATH', async () => {
    const failures: string[] = [];
    const visited = new Set<string>();
    const links = new Map<string, string>();
    const ids: Record<string, string | number> = {};
    let checked = 0;

    /** The arranged row a path parameter names: ids['/learners/'] for the :id of /learners/:id, ids.setId for :setId. */
    function param(name: string, path: string): string | number | undefined {
      if (name === 'id') {
        const part = [
          '/certifications/',
          '/learners/',
          '/audiences/',
          '/courses/',
          '/admin/staff/',
          '/admin/mail/',
          '/admin/bulk-actions/',
        ].find((p) => path.startsWith(p));
        return part ? ids[part] : undefined;
      }
      return ids[name];
    }

    /** axe, reflow at 320 px and the links and forms of the page as it is now. */
    async function check(page: Page, what: string) {
      checked++;
      const started = Date.now();
      for (const v of await axeViolations(page)) failures.push(`${what}: ${v}`);
      for (const p of await reflowProblems(page)) failures.push(`${what} at 320 px: ${p}`);
      const { hrefs, actions } = await page.evaluate(() => ({
        hrefs: Array.from(document.querySelectorAll('a[href]:not([href^="#"])'), (a) => (a as HTMLAnchorElement).href),
        actions: Array.from(document.querySelectorAll('form'), (f) => f.action),
      }));
      for (const href of [...hrefs, ...actions]) {
        if (href.startsWith(appOrigin) && !href.startsWith(b.baseUrl + '/'))
          failures.push(`${what}: link or form outside ${BASE_PATH}: ${href}`);
      }
      for (const href of hrefs.filter((h) => h.startsWith(b.baseUrl + '/'))) {
        const url = new URL(href);
        const key = url.pathname.replace(/\d+/g, 'N') + '?' + [...url.searchParams.keys()].sort().join('&');
        if (!links.has(key)) links.set(key, href.split('#')[0]);
      }
      if (process.env.TEST_LOGS) process.stdout.write(`sweep: ${what} checked in ${Date.now() - started} ms\n`);
    }

    /** Opens a route (filled with the arranged ids) in a state and checks the page. */
    async function visit(
      page: Page,
      route: string,
      state: string,
      options: { query?: string; status?: number; params?: Record<string, number> } = {},
    ) {
      const url = b.baseUrl + fillPath(route, (name, path) => options.params?.[name] ?? param(name, path)) + (options.query ?? '');
      const response = await page.goto(url);
      const status = response?.status();
      if (status !== (options.status ?? 200)) failures.push(`GET ${url} (${state}): ${status}, expected ${options.status ?? 200}`);
      visited.add(route);
      await check(page, `${route} (${state})`);
    }

    /**
     * Submits the page's main form with its text fields emptied (and some filled), as a person who
     * left them out would, and checks the page of errors that comes back.
     */
    async function submitInvalid(
      page: Page,
      what: string,
      fill: (form: ReturnType<Page['locator']>) => Promise<void> = () => Promise.resolve(),
    ) {
      // The assignment forms lead to their preview with GET.
      const form = page.locator('main form.app-form:is([method="post"], [action$="/preview"])').first();
      for (const field of await form
        .locator('input:is([type=text],[type=email],[type=password],[type=date],[type=datetime-local]):visible, textarea:visible')
        .all()) {
        await field.fill('');
      }
      await fill(form);
      const [response] = await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').last().click()]);
      const status = response?.status();
      if (status !== 400 || (await page.locator('.app-error-summary').count()) !== 1) {
        failures.push(`${what}: expected a page of errors, got ${status} without an error summary`);
      }
      await check(page, what);
    }

    /** Uploads a CSV file whose row breaks every column, and checks the listed problems. */
    async function uploadInvalid(page: Page, what: string) {
      const header = (await page.locator('.app-csv-example__line').first().innerText()).trim();
      const csv = `${header}\n${header
        .split(',')
        .map(() => '?!')
        .join(',')}\n`;
      await page.locator('input[type=file]').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      const [response] = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Upload and check' }).click()]);
      if (response?.status() !== 400 || (await page.locator('#file-errors').count()) !== 1)
        failures.push(`${what}: expected problems in the file, got ${response?.status()}`);
      await check(page, what);
    }

    const q = async (sql: string, params: unknown[] = []) => (await b.db.query(sql, params)).rows;
    const admin = await signIn('ada');
    const viewer = await signIn('vic');
    const visitor = await watch(await b.context()).newPage();

    // Signed out: the sign-in page, with its errors, and after a session ended.
    await visit(visitor, '/login', 'empty');
    await submitInvalid(visitor, '/login (nothing entered)');
    await visitor.getByLabel('Username').fill('ada');
    await visitor.getByLabel('Password').fill('not the password');
    const [wrong] = await Promise.all([visitor.waitForNavigation(), visitor.getByRole('button', { name: 'Sign in' }).click()]);
    expect(wrong?.status()).toBe(401);
    await check(visitor, '/login (wrong password)');
    await visit(visitor, '/login', 'session ended', { query: '?ended=timeout' });
    await visit(visitor, '/signed-out', 'signed out');

    // Single sign-on: the notice after signing out at the provider, a callback with no sign-in under
    // way, and the page of a person the provider vouches for who is in neither group.
    await visit(visitor, '/login', 'signed out at the provider', { query: '?ended=signed-out' });
    await visit(visitor, '/auth/oidc/callback', 'no sign-in under way', { query: '?code=x&state=y', status: 400 });
    await b.provider!.setAccount('nora', { name: 'Nora Nobody', groups: ['somewhere-else'] });
    await visitor.goto(`${b.baseUrl}/login`);
    await visitor.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await visitor.waitForURL((url) => url.href.startsWith(`${b.provider!.issuer}/interaction/`));
    await visitor.getByLabel('Account').fill('nora');
    const [notAllowed] = await Promise.all([
      visitor.waitForResponse((response) => response.url().startsWith(`${b.baseUrl}/auth/oidc/callback`)),
      visitor.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    expect(notAllowed.status()).toBe(403);
    await visitor.waitForLoadState();
    visited.add('/auth/oidc/start');
    await check(visitor, '/auth/oidc/callback (not allowed to use Certex)');

    // Nothing yet: every list empty, every form blank.
    ids['/admin/staff/'] = ids.adaId = (await q(`select id from staff where username = 'ada'`))[0].id;
    for (const route of [
      '/',
      '/certifications',
      '/exceptions',
      '/learners',
      '/audiences',
      '/courses',
      '/admin/bulk-actions',
      '/admin/mail',
      '/admin/staff',
    ]) {
      await visit(admin, route, 'empty');
    }
    for (const route of [
      '/certifications/new',
      '/learners/new',
      '/audiences/new',
      '/courses/new',
      '/admin/staff/new',
      '/account',
      '/admin/staff/:id',
    ]) {
      await visit(admin, route, 'blank form');
      await submitInvalid(admin, `${route} (errors)`, async (form) => {
        if (route === '/account') await form.getByLabel('Your email address').fill('not an email');
      });
    }
    for (const route of ['/learners/upload', '/courses/completions/upload']) {
      await visit(admin, route, 'form');
      await uploadInvalid(admin, `${route} (problems in the file)`);
    }

    // An empty certification, audience and learner.
    ids['/certifications/'] = (
      await q(`insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
               values ('Empty certification', 'EMPTY', 1, 'year', 1, 'month') returning id`)
    )[0].id;
    ids['/audiences/'] = (await q(`insert into audience (name) values ('Nobody yet') returning id`))[0].id;
    ids['/learners/'] = (
      await q(
        `insert into learner (id_number, username, first_name, last_name, email) values ('N0001', 'new-one', 'Nell', 'Newcomer', 'nell@example.org') returning id`,
      )
    )[0].id;
    ids.kind = 'enrolment';
    for (const route of [
      '/certifications/:id',
      '/certifications/:id/content',
      '/certifications/:id/assignments',
      '/certifications/:id/exceptions',
      '/certifications/:id/completion',
      '/certifications/:id/membership',
      '/certifications/:id/messages',
      '/certifications/:id/exception-policy',
      '/audiences/:id',
      '/learners/:id',
    ]) {
      await visit(admin, route, 'empty');
    }
    await visit(admin, '/certifications/:id/content/sets/new', 'no courses yet', { query: '?path=certification' });

    // Full: several pages of everything, a certification with content, assignments and exceptions.
    const full: ExceptionFixture = await createExceptionFixture(b.db, {
      counts: { time_allowance: 110, duplicate_course: 4, completion_time_unknown: 3, unknown: 3 },
      shortName: 'Full',
    });
    const certification = full.certificationId;
    ids['/certifications/'] = certification;
    await q(`insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
             select 'Certification number ' || n, 'CN' || n, 2, 'year', 2, 'month' from generate_series(1, 55) n`);
    const courses = (
      await q(
        `insert into course (short_name, full_name) select 'C' || lpad(n::text, 3, '0'), 'Course number ' || n from generate_series(1, 55) n returning id`,
      )
    ).map((r) => r.id);
    ids['/courses/'] = courses[0];
    const audiences = (
      await q(
        `insert into audience (name, description) select 'Audience ' || lpad(n::text, 3, '0'), 'Everyone in group ' || n from generate_series(1, 55) n returning id`,
      )
    ).map((r) => r.id);
    ids['/audiences/'] = audiences[0];
    await q(`insert into audience_member (audience_id, learner_id) select $1, learner_id from membership where certification_id = $2`, [
      audiences[0],
      certification,
    ]);
    const learner = (await q(`select learner_id from exception where id = $1`, [full.exceptionIds.unknown[0]]))[0].learner_id;
    ids['/learners/'] = learner;
    await q(
      `insert into course_completion (learner_id, course_id, completed_at, source) values ($1, $2, now() - interval '3 days', 'admin')`,
      [learner, courses[0]],
    );
    for (const [path, position, name, list] of [
      ['certification', 1, 'Induction', courses.slice(0, 2)],
      ['certification', 2, 'Practical assessment', courses.slice(2, 3)],
      ['recertification', 1, 'Refresher', courses.slice(3, 4)],
    ] as const) {
      const set = (
        await q(
          `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, $2, $3, $4, 'all') returning id`,
          [certification, path, position, name],
        )
      )[0].id;
      ids.setId ??= set;
      for (const course of list) await q(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set, course]);
    }
    ids.assignmentId = (
      await q(
        `insert into assignment (certification_id, kind, learner_id, due_rule, due_fixed_at) values ($1, 'learner', $2, 'fixed', '2031-03-31') returning id`,
        [certification, learner],
      )
    )[0].id;
    await q(
      `insert into assignment (certification_id, kind, audience_id, due_rule, due_amount, due_unit, due_event) values ($1, 'audience', $2, 'relative', 3, 'month', 'hire')`,
      [certification, audiences[0]],
    );
    await q(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, attempts, last_error, sent_at)
       select 'sweep-' || n, '<sweep-' || n || '.a-rather-long-message-identifier@certex.example.org>', 'learner',
              'a.learner.with.a.long.address' || n || '@example.org', 'Your certification is due soon (' || n || ')',
              'Hello,' || chr(10) || chr(10) || 'Your certification is due soon.', '<p>Hello,</p><p>Your certification is due soon.</p>',
              case when n = 1 then 'failed' else 'sent' end, case when n = 1 then 5 else 1 end,
              case when n = 1 then '550 5.1.1 mailbox unavailable: the address does not exist here' end,
              case when n = 1 then null else now() end
       from generate_series(1, 60) n`,
    );
    ids['/admin/mail/'] = (await q(`select id from outbox where message_key = 'sweep-1'`))[0].id;
    // An address with no place to break a line, in the header and in the body.
    const longAddress = `${'a-learner-with-a-very-long-address.'.repeat(4)}name@${'department.'.repeat(4)}example.org`;
    const longMail = (
      await q(
        `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, attempts)
         values ('sweep-long', '<sweep-long@certex.example.org>', 'learner', $1::text, 'Reply to ' || $1::text,
                 'Hello,' || chr(10) || 'Write to ' || $1::text || ' or see https://intranet.example.org/' || repeat('path/', 30),
                 '<p>Write to ' || $1::text || '</p>', 'kept', 0)
         returning id`,
        [longAddress],
      )
    )[0].id;
    // Two learners of one name, on the first page of the Exception report.
    await q(`update learner set first_name = 'Sam', last_name = 'Same' where id in (select learner_id from exception where id = any($1))`, [
      full.exceptionIds.time_allowance.slice(0, 2),
    ]);
    ids['/admin/staff/'] = await b.createStaff('sam', 'viewer', undefined, 'Sam Sample');
    const finishedActions = await q(
      `insert into bulk_action (certification_id, action, reason, selection_label, created_by, state, total, processed, applied, started_at, finished_at)
       select $1, 'dismiss', 'Tidying up', 'All unknown issues', $2, 'completed', 1, 1, 1, now(), now() from generate_series(1, 52) returning id`,
      [certification, ids.adaId],
    );
    const withFailures = (
      await q(
        `insert into bulk_action (certification_id, action, selection_label, created_by, state, total, processed, applied, failed, started_at, finished_at)
         values ($1, 'assign', '2 ticked learners', $2, 'completed_with_failures', 2, 2, 0, 2, now(), now()) returning id`,
        [certification, ids.adaId],
      )
    )[0].id;
    for (const exception of full.exceptionIds.completion_time_unknown.slice(0, 2)) {
      await q(
        `insert into bulk_action_item (bulk_action_id, exception_id, outcome, message, processed_at) values ($1, $2, 'failed', 'Assign cannot be applied to a completion time unknown issue', now())`,
        [withFailures, exception],
      );
    }
    expect(finishedActions.length).toBe(52);

    for (const route of [
      '/certifications',
      '/exceptions',
      '/learners',
      '/audiences',
      '/courses',
      '/admin/bulk-actions',
      '/admin/mail',
      '/admin/staff',
    ]) {
      await visit(admin, route, 'full');
      if (route === '/learners') {
        await admin.getByRole('link', { name: 'Next page' }).click();
        await admin.waitForURL(/after=/);
        await check(admin, '/learners (second page)');
      }
    }
    await visit(admin, '/learners', 'nothing found', { query: '?q=nobody-at-all' });
    await visit(admin, '/exceptions', 'nothing found', { query: '?q=nobody-at-all' });
    await visit(admin, '/exceptions', 'sorted by the oldest, newest first', { query: '?sort=oldest&dir=desc' });
    // A person's page after their sessions were ended: the success banner above how they sign in.
    await visit(admin, '/admin/staff/:id', 'never signed in');
    await admin.getByRole('button', { name: 'End all sessions' }).click();
    await admin.waitForURL(b.baseUrl + fillPath('/admin/staff/:id', param));
    expect(await admin.locator('main').innerText()).toContain('All sessions of Sam Sample ended');
    await check(admin, '/admin/staff/:id (sessions ended)');
    for (const route of [
      '/certifications/:id',
      '/certifications/:id/content',
      '/certifications/:id/assignments',
      '/certifications/:id/completion',
      '/certifications/:id/messages',
      '/audiences/:id',
      '/learners/:id',
      '/admin/mail/:id',
    ]) {
      await visit(admin, route, 'full');
    }
    await visit(admin, '/admin/mail/:id', 'a very long address', { params: { id: longMail } });
    await visit(admin, '/certifications/:id/exceptions', 'two learners of one name', { query: '?q=Sam+Same' });
    await visit(admin, '/certifications/:id/membership', 'full');
    await visit(admin, '/certifications/:id/membership', 'every column', {
      query: '?columns=exception_status,exception_type,exception_handled_on,handled_by,reason,state,certified_on,expires_on,email',
    });
    await visit(admin, '/certifications/:id/completion', 'nothing found', { query: '?q=nobody-at-all' });
    ids['/admin/bulk-actions/'] = withFailures;
    await visit(admin, '/admin/bulk-actions/:id', 'completed with failures');

    // Forms with values, and the same forms with errors.
    for (const [route, query] of [
      ['/certifications/:id/edit'],
      ['/certifications/:id/content/sets/new', '?path=recertification'],
      ['/certifications/:id/content/sets/:setId/edit'],
      ['/certifications/:id/assignments/new'],
      ['/certifications/:id/assignments/:assignmentId/edit'],
      ['/certifications/:id/messages/:kind'],
      ['/courses/:id/edit'],
      ['/learners/:id/edit'],
      ['/audiences/:id/edit'],
      ['/audiences/:id'],
      ['/learners/:id'],
    ] as const) {
      await visit(admin, route, 'form', { query });
      await submitInvalid(admin, `${route} (errors)`);
    }
    await visit(admin, '/audiences/:id/upload', 'form');
    await uploadInvalid(admin, '/audiences/:id/upload (problems in the file)');

    // Previews of assignments: exceptions of every type, with a certification sharing a course.
    const previewCert = (
      await q(`insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                          window_period_unit, certification_min_days, recertification_min_days)
               values ('Preview certification', 'PREV', 1, 'year', 1, 'month', 30, 30) returning id`)
    )[0].id;
    const previewSet = (
      await q(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Shared', 'all') returning id`,
        [previewCert],
      )
    )[0].id;
    await q(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [previewSet, courses[0]]);
    await q(
      `insert into learner (id_number, username, first_name, last_name, email, hire_date)
       select 'PV' || lpad(n::text, 3, '0'), 'pv' || n, 'Pia', 'Preview' || n, 'pv' || n || '@example.org', case when n > 2 then current_date end
         from generate_series(1, 14) n`,
    );
    await q(
      `insert into audience_member (audience_id, learner_id)
       select $1, id from learner where id_number like 'PV%' or id in (select learner_id from membership where certification_id = $2 limit 5)`,
      [audiences[1], certification],
    );
    await visit(admin, '/certifications/:id/assignments/preview', 'exceptions of every type', {
      params: { id: previewCert },
      query: `?kind=audience&audienceId=${audiences[1]}&dueRule=relative&dueAmount=10&dueUnit=day&dueEvent=hire`,
    });
    await visit(admin, '/certifications/:id/assignments/:assignmentId/preview', 'a later due date', {
      query: '?dueRule=fixed&dueDate=2032-01-31',
    });
    await visit(viewer, '/certifications/:id/assignments/preview', 'refused to a viewer', { status: 403, query: '?dueRule=none' });
    // Previews of audience member uploads: one assigned to a certification, and one no certification assigns.
    for (const [audience, state] of [
      [audiences[0], 'a certification assigns the audience'],
      [audiences[2], 'no certification assigns the audience'],
    ] as const) {
      await admin.goto(b.baseUrl + fillPath('/audiences/:id/upload', () => audience));
      const csv = 'id_number\n' + Array.from({ length: 14 }, (_, i) => `PV${String(i + 1).padStart(3, '0')}`).join('\n') + '\n';
      await admin.locator('input[type=file]').setInputFiles({ name: 'members.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await Promise.all([admin.waitForURL(/\/upload\/[0-9a-f-]{36}$/), admin.getByRole('button', { name: 'Upload and check' }).click()]);
      ids.token = /\/upload\/([0-9a-f-]{36})$/.exec(admin.url())![1];
      await visit(admin, '/audiences/:id/upload/:token', state, { params: { id: audience } });
    }

    // An exception policy that handles both types, saved with open exceptions of both: the offer to apply it.
    await admin.goto(b.baseUrl + fillPath('/certifications/:id/edit', param));
    await admin.getByLabel('Set realistic due date and assign automatically').check();
    await admin.getByLabel('Do not assign automatically').check();
    await Promise.all([admin.waitForURL(/\/exception-policy$/), admin.getByRole('button', { name: 'Save changes' }).click()]);
    await check(admin, '/certifications/:id/exception-policy (offers after saving a policy)');
    await visit(viewer, '/certifications/:id/exception-policy', 'offers, as a viewer');
    // A tampered offer, for a type the policy does not handle: the error summary.
    await admin
      .locator('main input[name="type"]')
      .first()
      .evaluate((input) => ((input as HTMLInputElement).value = 'unknown'));
    const [refusedOffer] = await Promise.all([admin.waitForNavigation(), admin.locator('#apply-time-allowance').click()]);
    expect(refusedOffer?.status()).toBe(400);
    await check(admin, '/certifications/:id/exception-policy (error)');

    // The Exception report: full, second page, nothing found, errors, a confirmation.
    const report = '/certifications/:id/exceptions';
    await visit(admin, report, 'full');
    await admin.getByRole('link', { name: 'Next page' }).click();
    await admin.waitForURL(/after=/);
    await check(admin, `${report} (second page)`);
    await submitInvalid(admin, `${report} (nothing selected)`);
    await visit(admin, report, 'nothing found', { query: '?q=nobody-at-all' });
    await admin.goto(b.baseUrl + fillPath(report, param));
    await admin.getByLabel('Select', { exact: true }).selectOption({ label: 'All time allowance issues' });
    await admin.getByLabel('Action').selectOption({ label: 'Set realistic due date and assign' });
    await admin.getByRole('button', { name: 'Continue' }).click();
    await admin.waitForURL(/\/exceptions\/confirm\//);
    ids.token = /\/confirm\/([^/?]+)/.exec(admin.url())![1];
    await visit(admin, `${report}/confirm/:token`, 'confirmation with new due dates');

    // A bulk action held Running by a row lock, then finished.
    await admin.goto(b.baseUrl + fillPath(report, param));
    await admin.getByLabel('Select', { exact: true }).selectOption({ label: 'All unknown issues' });
    await admin.getByLabel('Action').selectOption({ label: 'Do not assign' });
    await admin.getByLabel('Reason (optional)').fill('Imported by mistake');
    await admin.getByRole('button', { name: 'Continue' }).click();
    await admin.waitForURL(/\/exceptions\/confirm\//);
    await check(admin, `${report}/confirm/:token (confirmation)`);
    const held = (await q(`select membership_id from exception where id = $1`, [full.exceptionIds.unknown[1]]))[0].membership_id;
    const release = await holdMembership(held);
    let running: number;
    try {
      await admin.getByRole('button', { name: 'OK' }).click();
      await admin.waitForURL(/\/admin\/bulk-actions\/\d+$/);
      running = bulkActionIdOf(admin);
      await waitForBulkState(running, ['running']);
      ids['/admin/bulk-actions/'] = running;
      await visit(admin, '/admin/bulk-actions/:id', 'running');
      expect(await admin.locator('[data-app-progress-state]').innerText()).toBe('Running');
      await visit(admin, '/admin/bulk-actions/:id', 'running, refreshing stopped', { query: '?refresh=off' });
      await visit(admin, '/exceptions', 'a bulk action running');
      expect(await admin.getByRole('link', { name: /Do not assign: running/ }).count()).toBe(1);
    } finally {
      await release();
    }
    await waitForBulkState(running, ['completed']);
    await visit(admin, '/admin/bulk-actions/:id', 'finished');
    expect(await admin.locator('[data-app-progress-state]').innerText()).toBe('Completed');
    expect(await admin.getByRole('heading', { name: 'Learners changed' }).count()).toBe(1);
    await visit(admin, '/admin/bulk-actions/:id', 'finished, no learner changed matches the search', { query: '?q=nobody-at-all' });
    // Undoing it: a learner it handled, the confirmation of reopening, and that confirmation expired.
    const handledLearner = (await q(`select learner_id from exception where id = $1`, [full.exceptionIds.unknown[1]]))[0].learner_id;
    await visit(admin, '/learners/:id', 'handled exception with Reopen exception', { params: { id: handledLearner } });
    await admin.goto(b.baseUrl + fillPath('/admin/bulk-actions/:id', param));
    await admin.getByRole('button', { name: 'Reopen these exceptions' }).click();
    await admin.waitForURL(/\/exceptions\/confirm\//);
    await check(admin, `${report}/confirm/:token (reopen these exceptions)`);
    await q(`update bulk_action_draft set created_at = now() - interval '2 hours' where used_at is null`);
    const expired = await admin.reload();
    expect(expired?.status()).toBe(410);
    await check(admin, `${report}/confirm/:token (expired)`);

    // A viewer: pages without the administrator's controls, and the refusal of an administrator's page.
    await visit(viewer, report, 'as a viewer');
    await visit(viewer, '/admin/staff', 'as a viewer');
    await visit(viewer, '/exceptions', 'as a viewer');
    await visit(viewer, '/certifications/:id/messages/:kind', 'refused to a viewer', { status: 403 });
    await visit(viewer, '/certifications/new', 'refused to a viewer', { status: 403 });
    // Exemptions: a learner's form (blank, errors), in force and ended on the learner's page; the
    // Completion report's form, its errors, its confirmation and the report after it; a viewer.
    const exempted = (await q(`select learner_id from exception where id = $1`, [full.exceptionIds.time_allowance[5]]))[0].learner_id;
    const exemptForm = '/learners/:id/exemptions/new';
    await visit(admin, exemptForm, 'form', { params: { id: exempted }, query: `?certification=${certification}` });
    await submitInvalid(admin, `${exemptForm} (errors)`);
    await admin.getByLabel('Reason').fill('Long-term leave');
    await admin.getByLabel('End date (optional)').fill('2099-12-31');
    await Promise.all([
      admin.waitForURL(/\/learners\/\d+$/),
      admin.getByRole('button', { name: 'Exempt from this certification' }).click(),
    ]);
    await check(admin, '/learners/:id (exemption in force)');
    await Promise.all([admin.waitForURL(/\/learners\/\d+$/), admin.getByRole('button', { name: /^End exemption/ }).click()]);
    await check(admin, '/learners/:id (exemption ended)');
    const exemptMany = '/certifications/:id/exemptions/new';
    await visit(admin, exemptMany, 'form', { query: '?state=exception_pending' });
    await Promise.all([admin.waitForURL(/\/exemptions\/confirm/), admin.getByRole('button', { name: 'Continue' }).click()]);
    await check(admin, `${exemptMany} (errors)`);
    const confirmation = '/certifications/:id/exemptions/confirm';
    await visit(admin, confirmation, 'errors', { query: '?state=exception_pending&reason=&endsOn=2020-01-01', status: 400 });
    await visit(admin, confirmation, 'confirmation', { query: '?state=exception_pending&reason=Project+team&endsOn=2099-12-31' });
    await Promise.all([admin.waitForURL(/\/completion\?state=exception_pending$/), admin.getByRole('button', { name: 'OK' }).click()]);
    expect(await admin.locator('main').innerText()).toMatch(/\d+ learners exempted/);
    await check(admin, '/certifications/:id/completion (learners exempted)');
    await visit(admin, '/certifications/:id/completion', 'exempt learners', { query: '?state=exempt' });
    await visit(viewer, '/learners/:id', 'exemption in force, as a viewer', { params: { id: exempted } });
    await visit(viewer, exemptMany, 'refused to a viewer', { status: 403 });

    // Not found: an unknown address and an unknown id.
    await admin.goto(`${b.baseUrl}/no-such-page`).then((r) => expect(r?.status()).toBe(404));
    await check(admin, '404 page');
    await visit(admin, '/learners/:id', 'unknown learner', { status: 404, params: { id: 999999 } });

    // Every GET route is a page visited above or a known non-page, and those are not HTML.
    const getRoutes = appRoutes(b.app)
      .filter((r) => r.method === 'GET')
      .map((r) => r.path);
    expect(getRoutes.filter((r) => !visited.has(r) && !(r in NOT_PAGES))).toEqual([]);
    expect(Object.keys(NOT_PAGES).filter((r) => !getRoutes.includes(r))).toEqual([]);
    ids['/certifications/'] = certification;
    for (const route of Object.keys(NOT_PAGES)) {
      const response = await admin.request.get(b.baseUrl + fillPath(route, param));
      expect({ route, status: response.status(), html: /html/.test(response.headers()['content-type'] ?? '') }).toEqual({
        route,
        status: 200,
        html: false,
      });
    }
    // Every link met on the way resolves under BASE_PATH (one of each shape).
    for (const href of links.values()) {
      const response = await admin.request.get(href, { maxRedirects: 5 });
      if (response.status() >= 400) failures.push(`link ${href}: ${response.status()}`);
    }
    console.log(`sweep: ${checked} page states checked over ${visited.size} routes, ${links.size} link shapes followed`);
    expect(failures).toEqual([]);
    expect(networkProblems).toEqual([]);
    expect(assetsServed).toBeGreaterThan(checked);
    for (const page of [admin, viewer, visitor]) await page.context().close();
  });

  it('works inside the frame of a portal that FRAME_ANCESTORS allows, and a portal it does not list gets a blank frame', async () => {
    const f = await createExceptionFixture(b.db, { counts: { time_allowance: 4, unknown: 2 }, shortName: 'Audit', prefix: 'FR' });
    const context = watch(await b.browser.newContext({ viewport: DESKTOP }));
    const page = await context.newPage();
    const failures: string[] = [];
    // axe on Certex as the frame shows it (the portal's own landmarks are the portal's business).
    const check = async (what: string) => {
      for (const v of await axeViolations(page, 'iframe')) failures.push(`${what}: ${v}`);
    };
    const portalUrl = portal.pageFraming(`${b.baseUrl}/login`);
    const [framed] = await Promise.all([page.waitForResponse(`${b.baseUrl}/login`), page.goto(portalUrl)]);
    expect(framed.headers()['content-security-policy']).toContain(`frame-ancestors ${portal.origin}`);
    expect(framed.headers()['x-frame-options']).toBeUndefined();
    const app = (await (await page.locator('iframe').elementHandle()).contentFrame())!;
    await app.getByLabel('Username').fill('ada');
    await app.getByLabel('Password').fill(TEST_PASSWORD);
    await app.getByRole('button', { name: 'Sign in' }).click();
    await app.waitForURL(`${b.baseUrl}/certifications`);
    await check('certifications, framed');
    await app.getByRole('link', { name: 'Audit certification' }).click();
    await app.getByRole('link', { name: /^Exception report/ }).click();
    await app.waitForURL(/\/exceptions$/);
    await check('exception report, framed');
    await app.getByLabel('Select', { exact: true }).selectOption({ label: 'All time allowance issues' });
    await app.getByLabel('Action').selectOption({ label: 'Assign' });
    await app.getByRole('button', { name: 'Continue' }).click();
    await app.waitForURL(/\/exceptions\/confirm\//);
    expect(await app.locator('main').innerText()).toContain('This will affect 4 learners');
    await check('confirmation, framed');
    await app.getByRole('button', { name: 'OK' }).click();
    await app.waitForURL(/\/admin\/bulk-actions\/\d+$/);
    await app.locator('[data-app-progress][data-finished="yes"]').waitFor({ timeout: 60_000 });
    expect(await app.locator('[data-app-progress-state]').innerText()).toBe('Completed');
    await check('finished bulk action, framed');
    // The portal stayed where it was: everything happened inside its frame.
    expect(page.url()).toBe(portalUrl);
    expect(
      (
        await b.db.query(`select count(*)::int as n from exception where certification_id = $1 and status = 'assigned'`, [
          f.certificationId,
        ])
      ).rows[0].n,
    ).toBe(4);

    // A portal on an origin FRAME_ANCESTORS does not list: Chromium refuses to show Certex in its frame
    // (in a context of its own, not watched: the refused request is the point).
    const stranger = await (await b.browser.newContext()).newPage();
    const refusals: string[] = [];
    stranger.on('console', (message) => refusals.push(message.text()));
    await stranger.goto(strangerPortal.pageFraming(`${b.baseUrl}/login`));
    for (let i = 0; i < 50 && !refusals.some((m) => m.includes('frame-ancestors')); i++) await sleep(100);
    const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    expect(refusals.join('\n')).toMatch(
      new RegExp(`(Refused to frame|Framing) '${literal(appOrigin)}/'.*frame-ancestors ${literal(portal.origin)}`),
    );
    const blocked = (await (await stranger.locator('iframe').elementHandle()).contentFrame())!;
    // Chromium shows its own error page in the frame instead of Certex.
    expect(blocked.url()).not.toContain(appOrigin);
    expect(await blocked.content()).not.toContain('Sign in to Certex');
    expect(failures).toEqual([]);
    expect(networkProblems).toEqual([]);
    await stranger.context().close();
    await context.close();
  });

  it('runs the whole exception flow with the keyboard alone, with the focus visible at every stop', async () => {
    const f = await createExceptionFixture(b.db, { counts: { time_allowance: 3, duplicate_course: 1 }, shortName: 'Access', prefix: 'KB' });
    const page = await watch(await b.context()).newPage();
    const failures: string[] = [];
    let stops = 0;
    const press = async (key: string): Promise<FocusStop> => {
      await page.keyboard.press(key);
      const stop = await focusStop(page);
      stops++;
      for (const problem of stop.problems) failures.push(`${new URL(page.url()).pathname} ${stop.description}: ${problem}`);
      return stop;
    };
    /** Presses Tab until the focused element matches, checking every stop on the way. */
    const tabTo = async (target: RegExp, max = 150) => {
      const seen: string[] = [];
      for (let i = 0; i < max; i++) {
        const stop = await press('Tab');
        seen.push(stop.description);
        if (target.test(stop.description)) return stop;
      }
      throw new Error(`${target} not reached in ${max} Tab presses on ${page.url()}: ${seen.join(' → ')}`);
    };
    /** Changes the focused <select> with the arrow keys until the option is chosen. */
    const arrowTo = async (label: string) => {
      for (let i = 0; i < 15; i++) {
        const chosen = await page.evaluate(() => (document.activeElement as HTMLSelectElement).selectedOptions?.[0]?.label);
        if (chosen === label) return;
        await page.keyboard.press('ArrowDown');
      }
      throw new Error(`could not choose ${label} with the arrow keys`);
    };
    const enterAndWait = async (url: RegExp | string) => Promise.all([page.waitForURL(url), page.keyboard.press('Enter')]);

    await page.goto(`${b.baseUrl}/login`);
    // The first stop is the skip link, shown on focus, and it moves the focus to the main content.
    const skip = await press('Tab');
    expect(skip.description).toBe('a "Skip to main content"');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main-content');
    await tabTo(/^input#username/);
    await page.keyboard.type('ada');
    await tabTo(/^input#password/);
    await page.keyboard.type(TEST_PASSWORD);
    await enterAndWait(`${b.baseUrl}/certifications`);

    await tabTo(/^a "Access certification"/);
    await enterAndWait(/\/certifications\/\d+$/);
    await tabTo(/^a "Exception report/);
    await enterAndWait(/\/exceptions$/);
    await tabTo(/^select#select/);
    await arrowTo('All time allowance issues');
    await tabTo(/^select#action/);
    await arrowTo('Set realistic due date and assign');
    await tabTo(/^button "Continue"/);
    await enterAndWait(/\/exceptions\/confirm\//);
    expect(await page.locator('main').innerText()).toContain('This will affect 3 learners');
    await tabTo(/^button#ok/);
    expect((await press('Shift+Tab')).description).not.toMatch(/^button#ok/);
    expect((await press('Tab')).description).toMatch(/^button#ok/);

    // Held Running by a row lock, the progress page is walked through, then followed to the end.
    const held = (await b.db.query(`select membership_id from exception where id = $1`, [f.exceptionIds.time_allowance[2]])).rows[0]
      .membership_id;
    const release = await holdMembership(held);
    try {
      await enterAndWait(/\/admin\/bulk-actions\/\d+$/);
      await waitForBulkState(bulkActionIdOf(page), ['running']);
      await page.reload();
      expect(await page.locator('[data-app-progress-state]').innerText()).toBe('Running');
      await tabTo(/^a "Back to exception report"/);
    } finally {
      await release();
    }
    // The page's script reloads it once the action has finished.
    await page.locator('[data-app-progress][data-finished="yes"]').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-app-progress-state]').innerText()).toBe('Completed');
    await tabTo(/^a "Back to exception report"/);
    await enterAndWait(/\/exceptions$/);
    expect(await page.locator('tbody tr').count()).toBe(1);
    console.log(`keyboard walk: ${stops} focus stops checked`);
    expect(failures).toEqual([]);
    expect(networkProblems).toEqual([]);
    await page.context().close();
  });
});
