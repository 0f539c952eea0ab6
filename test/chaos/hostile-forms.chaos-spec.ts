import fc from 'fast-check';
import { encodeCursor } from '../../src/common/keyset';
import { TEST_PASSWORD, TestApp, TestClient, csrfFrom } from '../support/app';
import {
  arrangedParam,
  arrangeHostileData,
  encodePairs,
  HostileData,
  hostileCsv,
  hostileFields,
  hostileNumber,
  hostileText,
  MARKER,
  Pair,
  percentEncode,
  Plausible,
  reflectsMarker,
  refused,
} from '../support/hostile';
import { startWithStaff } from '../support/pages';
import { ADMIN_GROUP, certexClient, CLIENT_ID, CLIENT_SECRET, startTestProvider, TestProvider } from '../support/oidc';
import { appRoutes, AppRoute, changedTables, databaseSnapshot, fillPath } from '../support/routes';

/**
 * Property tests over every form and every query string of the app, with hostile values: any
 * unicode, very long text, markup, quotes, handlebars, NUL and control characters, numbers out of
 * range, repeated keys where one value is expected, missing and extra fields. For every request:
 * no 5xx, MARKER never comes back unescaped, a redirect stays on this site, and a refused request
 * (4xx, or the form shown again with its errors) changed nothing in the database.
 *
 * "Nothing changed" compares databaseSnapshot (test/support/routes.ts): a checksum of every table
 * but `session` (express-session rewrites it on every request, rolling cookies) and
 * `login_attempt` (a refused sign-in is recorded there on purpose, for throttling). Everything
 * else, including the outbox, the audit trails and the sync and maintenance runs, must stay as it was.
 * The app runs as PROCESS_ROLE=web, so no background job writes while a request is checked.
 */

type Fields = Record<string, Plausible>;

/** Where the provider would send people back to; never reached, the callback is requested directly. */
const PUBLIC_URL = 'http://certex.test';

/** Runs per property; HOSTILE_RUNS_SCALE=5 (say) searches longer, HOSTILE_SEED=… replays a failure. */
const SCALE = Number(process.env.HOSTILE_RUNS_SCALE ?? 1);
const RUNS = { form: Math.ceil(30 * SCALE), page: Math.ceil(20 * SCALE), path: Math.ceil(10 * SCALE) };
/** A request that gets no answer within this is a failure too (a hung request). */
const DEADLINE = 10_000;
const SORTS = [
  'learner',
  'idnumber',
  'idNumber',
  'name',
  'issue',
  'raised',
  'assigned',
  'due',
  'state',
  'exception_status',
  'certified',
  'expires',
];
const DIRS = ['asc', 'desc'];
const EXCEPTION_TYPES = ['time_allowance', 'duplicate_course', 'completion_time_unknown', 'unknown'];
const AGES = ['today', 'week', 'month', 'older', ''];
const UNITS = ['day', 'week', 'month', 'year'];
const OVERVIEW_SORTS = ['name', 'open', ...EXCEPTION_TYPES, 'today', 'week', 'month', 'older', 'oldest', 'raised'];

/** Sort keys of tampered page links: hostile texts, numbers, nulls, dates, nested arrays. */
const cursor: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      hostileText,
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.constantFrom('infinity', '2024-01-01T00:00:00Z', '2024-02-31 00:00:00+00', '1', 'May 5', 'not a date', 'zzz', 'open'),
      fc.array(fc.integer(), { maxLength: 2 }),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((values) => encodeCursor(values as never));

const paging: Fields = { after: cursor, before: cursor, page: ['last', '2'], from: ['51', '0', '-1', '99999999999', '1e3'] };

const dueRuleFields = (d: HostileData): Fields => ({
  dueRule: ['none', 'fixed', 'relative'],
  dueDate: ['2027-03-31'],
  dueAmount: ['3'],
  dueUnit: UNITS,
  dueEvent: ['assignment', 'hire', 'first_login', 'course_completion'],
  dueCourseId: [String(d.course)],
});
const assignmentFields = (d: HostileData): Fields => ({
  kind: ['learner', 'audience'],
  learnerIdNumber: ['HF000001', 'NOPE'],
  audienceId: [String(d.audience)],
  ...dueRuleFields(d),
});

/** The query parameters each page reads (see its controller), for every GET route of the app. */
const PAGES: Record<string, (d: HostileData) => Fields> = {
  '/': () => ({}),
  '/login': () => ({
    next: ['/certifications', '//evil.example/', 'https://evil.example/', '/\\evil.example'],
    ended: ['timeout', 'signed-out'],
  }),
  // Single sign-on, tried by a visitor (see VISITOR_PAGES): the callback after a real start.
  '/auth/oidc/start': () => ({ next: ['/certifications', '//evil.example/', 'https://evil.example/', '/\\evil.example'] }),
  '/auth/oidc/callback': () => ({
    code: ['abc', ''],
    state: ['x', ''],
    error: ['access_denied', 'server_error'],
    error_description: ['The person cancelled'],
    iss: ['http://127.0.0.1'],
  }),
  '/signed-out': () => ({}),
  '/health': () => ({}),
  '/account': () => ({}),
  '/admin/bulk-actions': (d) => ({ before: [String(d.bulkAction + 1), '0'], from: ['51', '0', '1e3'] }),
  '/admin/bulk-actions/:id': () => ({ refresh: ['off'], q: ['HF', 'Pat'], ...paging }),
  '/admin/bulk-actions/:id/learners.csv': () => ({ q: ['HF', 'Pat'] }),
  '/admin/bulk-actions/:id/status': () => ({}),
  '/admin/mail': () => ({ state: ['pending', 'sending', 'sent', 'failed', 'kept'], q: ['hf', 'Hello'], ...paging }),
  '/admin/mail/:id': () => ({}),
  '/admin/staff': () => ({}),
  '/admin/staff/new': () => ({}),
  '/admin/staff/:id': () => ({}),
  '/audiences': () => ({ q: ['Hostile', 'night'], ...paging }),
  '/audiences/new': () => ({}),
  '/audiences/:id': () => ({ q: ['HF', 'Pat'], ...paging }),
  '/audiences/:id/edit': () => ({}),
  '/audiences/:id/upload': () => ({}),
  '/audiences/:id/upload/:token': () => ({}),
  '/certifications': () => ({ ...paging }),
  '/certifications/new': () => ({}),
  '/certifications/:id': () => ({}),
  '/certifications/:id/edit': () => ({}),
  '/certifications/:id/assignments': () => ({ ...paging }),
  // The assignment forms take their answers back from a preview's Change link; the previews read them.
  '/certifications/:id/assignments/new': (d) => assignmentFields(d),
  '/certifications/:id/assignments/preview': (d) => assignmentFields(d),
  '/certifications/:id/assignments/:assignmentId/edit': (d) => dueRuleFields(d),
  '/certifications/:id/assignments/:assignmentId/preview': (d) => dueRuleFields(d),
  '/certifications/:id/content': () => ({}),
  '/certifications/:id/content/sets/new': () => ({ path: ['certification', 'recertification'] }),
  '/certifications/:id/content/sets/:setId/edit': () => ({}),
  '/certifications/:id/exceptions': () => ({ q: ['HF', 'Pat'], type: EXCEPTION_TYPES, age: AGES, sort: SORTS, dir: DIRS, ...paging }),
  '/certifications/:id/exceptions.csv': () => ({ q: ['HF', 'Pat'], type: EXCEPTION_TYPES, age: AGES, sort: SORTS, dir: DIRS }),
  '/certifications/:id/exceptions/confirm/:token': () => ({
    q: ['HF'],
    type: EXCEPTION_TYPES,
    age: AGES,
    sort: SORTS,
    dir: DIRS,
    learner: ['1', 'x'],
    from: ['1', 'x'],
  }),
  '/certifications/:id/exception-policy': () => ({}),
  '/certifications/:id/membership': () => membershipQuery,
  '/certifications/:id/membership.csv': () => membershipQuery,
  '/certifications/:id/completion': () => completionQuery,
  '/certifications/:id/completion.csv': () => completionQuery,
  '/certifications/:id/messages': () => ({}),
  '/certifications/:id/messages/:kind': () => ({}),
  '/courses': () => ({ q: ['HF1', 'course'], ...paging }),
  '/exceptions': () => ({ q: ['Cert', 'HF'], sort: OVERVIEW_SORTS, dir: DIRS, ...paging }),
  '/exceptions.csv': () => ({ q: ['Cert', 'HF'], sort: OVERVIEW_SORTS, dir: DIRS }),
  '/courses/new': () => ({}),
  '/courses/:id/edit': () => ({}),
  '/courses/completions/upload': () => ({}),
  '/learners': () => ({ q: ['HF', 'Pat'], sort: SORTS, dir: DIRS, ...paging }),
  '/learners/new': () => ({}),
  '/learners/upload': () => ({}),
  '/learners/:id': () => ({}),
  '/learners/:id/edit': () => ({}),
  '/learners/:id/exemptions/new': (d) => ({ certification: [String(d.certification), 'x', '0'] }),
  '/certifications/:id/exemptions/new': () => ({ q: ['HF'], state: EXEMPTABLE_STATES }),
  '/certifications/:id/exemptions/confirm': () => exemptionFields,
};
const membershipQuery: Fields = {
  q: ['HF', 'Pat'],
  status: ['none', 'open', 'assigned', 'dismissed'],
  columns: ['state', 'email,reason', 'exception_status,certified_on,expires_on', 'handled_by'],
  sort: SORTS,
  dir: DIRS,
  ...paging,
};
const EXEMPTABLE_STATES = ['not_certified', 'exception_pending', 'exempt', ''];
const exemptionFields: Fields = {
  q: ['HF', ''],
  state: EXEMPTABLE_STATES,
  reason: ['Long-term leave', ''],
  endsOn: ['', '2030-01-31', '2020-01-01', '2027-02-30', '31/01/2030'],
};
const completionQuery: Fields = {
  q: ['HF'],
  state: ['not_certified', 'certified', 'window_open', 'expired', 'exempt', 'overdue'],
  sort: SORTS,
  dir: DIRS,
  format: ['csv'],
  ...paging,
};

const staffFields = { displayName: ['New Person'], role: ['admin', 'viewer'], email: ['n@example.org', ''] };
const certificationFields: Fields = {
  fullName: ['Fire safety'],
  shortName: ['FS'],
  idNumber: ['', 'FS-1'],
  summary: ['', 'About fire'],
  activePeriodAmount: ['1', '12'],
  activePeriodUnit: UNITS,
  windowPeriodAmount: ['0', '1'],
  windowPeriodUnit: UNITS,
  recertificationBase: ['completion', 'expiry'],
  realisticBufferDays: ['7', '0'],
  noticeRecipients: ['', 'desk@example.org\nsafety@example.org'],
  timeAllowancePolicy: ['hold', 'assign_realistic'],
  duplicateCoursePolicy: ['hold', 'do_not_assign'],
};
const courseSetFields = (d: HostileData): Fields => ({
  name: ['Set two'],
  courses: [String(d.course)],
  rule: ['all', 'any'],
  minDays: ['0', '7'],
  joiner: ['and', 'or', 'then'],
});
const learnerFields: Fields = {
  idNumber: ['HF900001', 'HF000001'],
  username: ['hf.new', 'hf-1'],
  firstName: ['Pat'],
  lastName: ['New'],
  email: ['hf.new@example.org'],
  hireDate: ['2024-03-31', ''],
  firstLogin: ['2024-03-31T09:30', ''],
  suspended: ['yes', 'no'],
};
const reportView: Fields = { q: ['HF', ''], type: EXCEPTION_TYPES, age: AGES, sort: SORTS, dir: DIRS };

/** The fields each form posts (see its controller and DTO), for every POST route of the app. */
const FORMS: Record<string, (d: HostileData) => Fields> = {
  '/account': () => ({ notifyExceptions: ['yes'], email: ['ada@example.org', ''] }),
  '/account/time-zone': () => ({ timeZone: ['', 'Asia/Kathmandu', 'Europe/London', 'UTC', 'europe/london', '+05:45', 'Mars/Olympus'] }),
  '/admin/staff': () => ({ username: ['newbie', 'sam', 'ada'], ...staffFields, password: ['a long enough password'] }),
  '/admin/staff/:id': () => ({ ...staffFields, disabled: ['yes', 'no'], password: ['', 'another long password'] }),
  '/admin/staff/:id/sign-in-throttle/clear': () => ({}),
  '/admin/staff/:id/sessions/end': () => ({}),
  '/audiences': () => ({ name: ['Day shift', 'Hostile audience'], description: ['', 'x'] }),
  '/audiences/:id': () => ({ name: ['Day shift', 'Hostile audience'], description: ['', 'x'] }),
  '/audiences/:id/members': () => ({ idNumber: ['HF000001', 'HF000003', 'NOPE'] }),
  '/certifications': () => certificationFields,
  '/certifications/:id/edit': () => certificationFields,
  '/certifications/:id/assignments': (d) => assignmentFields(d),
  '/certifications/:id/assignments/:assignmentId/edit': (d) => dueRuleFields(d),
  '/certifications/:id/content/sets': (d) => ({ path: ['certification', 'recertification'], ...courseSetFields(d) }),
  '/certifications/:id/content/sets/:setId/edit': courseSetFields,
  '/certifications/:id/content/sets/:setId/move': () => ({ direction: ['up', 'down'] }),
  '/certifications/:id/exceptions/bulk': () => ({
    select: ['none', 'all', ...EXCEPTION_TYPES],
    action: ['assign', 'assign_realistic', 'do_not_assign', 'dismiss'],
    reason: ['tidy', ''],
    ids: ['1', '2', '3'],
    ...reportView,
  }),
  '/certifications/:id/exception-policy/apply': () => ({ type: [...EXCEPTION_TYPES, ''] }),
  '/certifications/:id/messages/:kind': () => ({
    enabled: ['yes', ''],
    subject: ['Due soon: {certification_name}'],
    body: ['Hello {learner_first_name}, see {link}'],
    offsetDays: ['7', '365'],
  }),
  '/courses': () => ({ shortName: ['HF103', 'HF101'], fullName: ['Course'] }),
  '/courses/:id': () => ({ shortName: ['HF101', 'HF102'], fullName: ['Course'] }),
  '/learners': () => learnerFields,
  '/learners/:id': () => learnerFields,
  '/learners/:id/completions': (d) => ({ courseId: [String(d.course)], completedOn: ['2024-03-31'] }),
  '/learners/:id/exceptions/:exceptionId/handle': () => ({
    action: ['assign', 'assign_realistic', 'do_not_assign', 'dismiss'],
    reason: ['tidy', ''],
  }),
  '/learners/:id/exceptions/:exceptionId/reopen': () => ({ reason: ['mistake', ''] }),
  '/admin/bulk-actions/:id/reopen': () => ({ reason: ['mistake', ''] }),
  '/learners/:id/exemptions': (d) => ({ certificationId: [String(d.certification), 'x'], ...exemptionFields }),
  // Forms whose effect removes or uses up what they name: they run after the others.
  '/audiences/:id/upload/:token': () => ({}),
  '/audiences/:id/members/:learnerId/remove': () => ({}),
  '/certifications/:id/assignments/:assignmentId/remove': () => ({}),
  '/certifications/:id/content/sets/:setId/delete': () => ({}),
  '/certifications/:id/exceptions/confirm/:token': () => ({ ...reportView, learner: ['1', 'x'], from: ['1', 'x'] }),
  '/admin/mail/:id/retry': () => ({}),
  '/learners/:id/exemptions/:exemptionId/end': () => ({}),
  '/certifications/:id/exemptions': () => exemptionFields,
  '/logout': () => ({}),
  // Last: failed sign-ins from this address end up throttled.
  '/login': () => ({
    username: ['ada', 'vic', ''],
    password: [TEST_PASSWORD, 'wrong password'],
    next: ['/learners', '//evil.example/', 'https://evil.example/'],
  }),
};

/** CSV columns of the three uploads, with plausible cells. */
const UPLOADS: Record<string, Fields> = {
  '/learners/upload': {
    id_number: ['HF000001', 'HF800001'],
    username: ['hf.up', 'hf-1'],
    first_name: ['Pat'],
    last_name: ['Up'],
    email: ['hf.up@example.org'],
    hire_date: ['2024-03-31', ''],
    suspended: ['yes', 'no', ''],
  },
  '/audiences/:id/upload': { id_number: ['HF000001', 'HF000004', 'NOPE'] },
  '/courses/completions/upload': {
    id_number: ['HF000001', 'NOPE'],
    course: ['HF101', 'hf102', 'NOPE'],
    completed_on: ['2024-03-31', '2099-01-01'],
  },
};

function summary(res: { status: number; text?: string; headers: Record<string, string> }): string {
  const text = (res.text ?? '').replace(/\s+/g, ' ');
  const at = text.indexOf(MARKER);
  return `${res.status} ${res.headers['content-type'] ?? ''} ${res.headers.location ? `-> ${res.headers.location} ` : ''}${at >= 0 ? `…${text.slice(Math.max(0, at - 120), at + 40)}…` : text.slice(0, 200)}`;
}

/** Pages that a signed-in person never reaches (they are sent on at once): tried by a visitor instead. */
const VISITOR_PAGES = new Set(['/auth/oidc/start', '/auth/oidc/callback']);

describe('hostile input to every form and every query string', () => {
  let provider: TestProvider;
  let t: TestApp;
  let admin: TestClient;
  let data: HostileData;
  let routes: AppRoute[];
  let token: string;

  beforeAll(async () => {
    // Single sign-on set up against a real provider, so that its pages run as they would.
    provider = await startTestProvider([certexClient(PUBLIC_URL, '')]);
    ({ t, admin } = await startWithStaff({
      PROCESS_ROLE: 'web',
      PUBLIC_URL,
      OIDC_ISSUER_URL: provider.issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_ADMIN_GROUP: ADMIN_GROUP,
    }));
    data = await arrangeHostileData(t, admin);
    // Policies that handle both types, so that applying them to the open exceptions can succeed.
    await t.db.query(
      `update certification set time_allowance_policy = 'assign_realistic', duplicate_course_policy = 'do_not_assign' where id = $1`,
      [data.certification],
    );
    await t.createStaff('leo', 'viewer', undefined, 'Leo Leaving');
    routes = appRoutes(t.app);
    token = csrfFrom((await admin.get('/certifications')).text)!;
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await provider?.stop();
  });

  const path = (route: string) => fillPath(route, (name, p) => arrangedParam(data, name, p));

  /** Status, reflection and redirect checks common to every request. */
  function problems(what: string, res: { status: number; text?: string; headers: Record<string, string> }): string[] {
    const found: string[] = [];
    if (res.status >= 500) found.push(`${what}: ${res.status}`);
    if (reflectsMarker(res)) found.push(`${what}: the marker came back unescaped`);
    const location = res.headers.location;
    // Single sign-on's start leads to the provider, and only there.
    const toProvider = location?.startsWith(`${provider.issuer}/auth?`);
    if (location !== undefined && !toProvider && (!location.startsWith('/') || location.startsWith('//')))
      found.push(`${what}: redirects off the site to ${location}`);
    return found;
  }

  /** A page view: no 5xx, no raw marker, and nothing changed. */
  async function checkGet(url: string, client: TestClient = admin) {
    const before = await databaseSnapshot(t.db);
    const res = await client.agent.get(url).timeout(DEADLINE);
    const found = problems(`GET ${url}`, res);
    const changed = changedTables(before, await databaseSnapshot(t.db));
    if (changed.length > 0) found.push(`GET ${url} changed ${changed.join(', ')}`);
    if (found.length > 0) throw new Error(`${found.join('\n')}\n${summary(res)}`);
  }

  /** A form: no 5xx, no raw marker; refused, it changed nothing; accepted, the page it leads to is escaped too. */
  async function check(what: string, send: () => Promise<any>, client: TestClient) {
    const before = await databaseSnapshot(t.db);
    const res = await send();
    const found = problems(what, res);
    if (refused(res)) {
      const changed = changedTables(before, await databaseSnapshot(t.db));
      if (changed.length > 0) found.push(`${what}: refused with ${res.status} but changed ${changed.join(', ')}`);
    } else if (res.status === 303 && found.length === 0) {
      // The page an accepted form leads to shows what was saved: escaped too.
      const next = await client.agent.get(res.headers.location).timeout(DEADLINE);
      found.push(...problems(`${what}, then GET ${res.headers.location}`, next));
    }
    if (found.length > 0) throw new Error(`${found.join('\n')}\n${summary(res)}`);
  }

  async function keepAdminSignedIn() {
    if ((await admin.agent.get('/account')).status === 200) return;
    await admin.signIn('ada', TEST_PASSWORD);
    token = csrfFrom((await admin.get('/certifications')).text)!;
  }

  const assertProperty = (property: Parameters<typeof fc.assert>[0], numRuns: number) =>
    fc.assert(property, { numRuns, ...(process.env.HOSTILE_SEED ? { seed: Number(process.env.HOSTILE_SEED) } : {}) });

  it('has a field table for every POST route and a query table for every GET route of the app', () => {
    const posts = routes.filter((r) => r.method === 'POST').map((r) => r.path);
    const gets = routes.filter((r) => r.method === 'GET').map((r) => r.path);
    expect([...Object.keys(FORMS), ...Object.keys(UPLOADS)].sort()).toEqual([...posts].sort());
    expect(Object.keys(PAGES).sort()).toEqual([...gets].sort());
  });

  describe.each(Object.keys(PAGES))('GET %s', (route) => {
    it('answers any query string without a 5xx or a raw marker, and changes nothing', async () => {
      const fields = hostileFields(PAGES[route](data));
      await assertProperty(
        fc.asyncProperty(fields, async (pairs: Pair[]) => {
          const client = VISITOR_PAGES.has(route) ? t.client() : admin;
          // A callback arrives after a sign-in was started, with a state and a PKCE verifier waiting.
          if (route === '/auth/oidc/callback') expect((await client.agent.get(path('/auth/oidc/start'))).status).toBe(303);
          await checkGet(path(route) + (pairs.length ? '?' + encodePairs(pairs) : ''), client);
        }),
        RUNS.page,
      );
    });
  });

  describe.each(Object.keys(UPLOADS))('POST %s (CSV upload)', (route) => {
    it('answers any file and fields without a 5xx or a raw marker; a refused upload changes nothing', async () => {
      const columns = UPLOADS[route];
      const extras = hostileFields({}).map((pairs) => pairs.slice(0, 3));
      await assertProperty(
        fc.asyncProperty(hostileCsv(columns as Record<string, readonly string[]>), extras, async (file: Buffer, pairs: Pair[]) => {
          const url = path(route);
          await check(
            `POST ${url} with a ${file.length}-byte file`,
            () => {
              const req = admin.agent.post(`${url}?_csrf=${encodeURIComponent(token)}`);
              for (const [key, value] of pairs) req.field(key, typeof value === 'string' ? value : Buffer.from(value).toString('latin1'));
              return req.attach('file', file, { filename: 'hostile.csv', contentType: 'text/csv' }).timeout(DEADLINE);
            },
            admin,
          );
        }),
        RUNS.form,
      );
    });
  });

  describe.each(Object.keys(FORMS))('POST %s', (route) => {
    it('answers any form without a 5xx or a raw marker; a refused form changes nothing', async () => {
      const fields = hostileFields(FORMS[route](data));
      const runs = route === '/logout' || route === '/login' ? Math.ceil(8 * Math.min(SCALE, 2)) : RUNS.form;
      await assertProperty(
        fc.asyncProperty(fields, async (pairs: Pair[]) => {
          // Signing out ends the session: a fresh one each time, of someone the other forms leave alone.
          const client = route === '/logout' ? await t.signedIn('leo') : route === '/login' ? t.client() : admin;
          const formToken =
            client === admin ? token : csrfFrom((await client.get(route === '/logout' ? '/certifications' : '/login')).text)!;
          const url = path(route);
          const body = encodePairs([['_csrf', formToken], ...pairs]);
          await check(`POST ${url} ${body.slice(0, 300)}`, () => client.agent.post(url).type('form').send(body).timeout(DEADLINE), client);
        }),
        runs,
      );
    });
  });

  it('still follows the page links the app makes, now that tampered cursors are refused', async () => {
    await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email)
       select 'PG' || lpad(n::text, 4, '0'), 'pg' || n, 'Pat', 'Page' || n, 'pg' || n || '@example.org' from generate_series(1, 60) n`,
    );
    await t.db.query(
      `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, created_at)
       select 'pg-' || n, '<pg-' || n || '@certex>', 'learner', 'pg' || n || '@example.org', 'Page ' || n, 'x', '<p>x</p>', 'sent',
              now() - make_interval(mins => n)
         from generate_series(1, 60) n`,
    );
    const firstRow = (html: string) => /<tbody[\s\S]*?<tr[\s\S]*?<\/tr>/.exec(html)?.[0] ?? '';
    for (const list of [
      '/learners?sort=idNumber',
      '/learners?sort=idNumber&dir=desc',
      '/learners',
      '/admin/mail',
      `/certifications/${data.certification}/membership?sort=due`,
    ]) {
      const first = await admin.get(list);
      const next = /href="([^"]+)" rel="next"/
        .exec(first.text)?.[1]
        ?.replace(/&amp;/g, '&')
        .replace(/&#x3D;/g, '=');
      if (list.includes('membership')) {
        // Six memberships fit on one page: a cursor the app would make still reads the page after it.
        const { rows } = await t.db.query(
          `select due_at::text as due, id from membership where certification_id = $1 order by due_at, id limit 1`,
          [data.certification],
        );
        const after = encodeCursor([rows[0].due, Number(rows[0].id)]);
        const res = await admin.get(`${list}&after=${after}`);
        expect(res.status).toBe(200);
        expect(res.text).toContain('rel="prev"');
        continue;
      }
      expect(next).toBeDefined();
      const second = await admin.get(next!);
      expect(second.status).toBe(200);
      expect(firstRow(second.text)).not.toEqual(firstRow(first.text));
      expect(second.text).toContain('rel="prev"');
    }
  });

  // Last: a hostile id may name a real row (0001 is row 1) and an accepted form may remove it.
  it('answers hostile ids in every path without a 5xx or a raw marker; a refused request changes nothing', async () => {
    const idValue = fc.oneof(
      hostileNumber,
      hostileText,
      fc.stringMatching(/^[0-9a-f-]{36}$/),
      fc.constantFrom('2147483648', '99999999999999999999', '-1', '0', '1.5', '..', 'due_soon', 'enrolment%00'),
    );
    const withParams = routes.filter((r) => r.params.length > 0 && !r.isPublic);
    const property = fc.asyncProperty(
      fc.constantFrom(...withParams),
      fc.array(idValue, { minLength: 3, maxLength: 3 }),
      async (route, values) => {
        const url = route.path.replace(/:(\w+)/g, (_m, name: string) => percentEncode(values[route.params.indexOf(name)] ?? ''));
        if (route.method === 'GET') await checkGet(url);
        else
          await check(
            `POST ${url}`,
            () =>
              admin.agent
                .post(url)
                .type('form')
                .send(encodePairs([['_csrf', token]]))
                .timeout(DEADLINE),
            admin,
          );
        // A hostile id may name the administrator's own account, and ending their own sessions signs them out.
        if (route.path.endsWith('/sessions/end')) await keepAdminSignedIn();
      },
    );
    await assertProperty(property, RUNS.path * withParams.length);
  });
});
