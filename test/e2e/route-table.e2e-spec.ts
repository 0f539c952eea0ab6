import { startTestApp, TestApp, TestClient } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { appRoutes, AppRoute, changedTables, databaseSnapshot, expressRoutes, fillPath } from '../support/routes';

/**
 * Every POST route of the running app, read from the app itself (a new route is covered without
 * touching this file), must refuse a missing CSRF token and a viewer, and change nothing.
 */
describe('every POST route refuses a missing CSRF token and a viewer', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let postRoutes: AppRoute[];
  const ids: Record<string, string | number> = {};

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    const adaId = (await t.db.query(`select id from staff where username = 'ada'`)).rows[0].id;
    ids.staff = await t.createStaff('sam', 'viewer');

    const fixture = await createExceptionFixture(t.db, { counts: { time_allowance: 2 }, prefix: 'RT' });
    ids.certification = fixture.certificationId;
    const learnerId = (
      await t.db.query(`select min(learner_id) as id from membership where certification_id = $1`, [fixture.certificationId])
    ).rows[0].id;
    ids.learner = learnerId;
    ids.exception = fixture.exceptionIds.time_allowance[0];
    const q = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
    ids.course = (await q(`insert into course (short_name, full_name) values ('RT101', 'Route table course') returning id`)).id;
    ids.courseSet = (
      await q(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set one', 'all') returning id`,
        [ids.certification],
      )
    ).id;
    await q(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [ids.courseSet, ids.course]);
    ids.audience = (await q(`insert into audience (name) values ('Route table audience') returning id`)).id;
    await q(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [ids.audience, learnerId]);
    ids.assignment = (
      await q(`insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none') returning id`, [
        ids.certification,
        learnerId,
      ])
    ).id;
    ids.outbox = (
      await q(
        `insert into outbox (message_key, message_id, kind, to_address, subject, body_text, body_html, state, attempts, last_error)
         values ('rt-1', '<rt-1@certex>', 'learner', 'rt@example.org', 'Hello', 'Hi', '<p>Hi</p>', 'failed', 5, 'refused') returning id`,
      )
    ).id;
    ids.token = (
      await q(
        `insert into bulk_action_draft (certification_id, created_by, action, reason, selection)
         values ($1, $2, 'dismiss', 'tidy', $3::jsonb) returning token`,
        [ids.certification, adaId, JSON.stringify({ mode: 'ids', ids: fixture.exceptionIds.time_allowance, label: '2 ticked learners' })],
      )
    ).token;
    ids.kind = 'enrolment';
    // An exemption in force: only its row, so that the learner's forms still find what they expect.
    ids.exemption = (
      await q(`insert into exemption (certification_id, learner_id, reason) values ($1, $2, 'Arranged') returning id`, [
        ids.certification,
        learnerId,
      ])
    ).id;
    fields.certificationId = String(ids.certification);
    ids.bulkAction = (
      await q(
        `insert into bulk_action (certification_id, action, selection_label, created_by, state, total, processed, applied)
         values ($1, 'assign', 'All learners', $2, 'completed', 0, 0, 0) returning id`,
        [ids.certification, adaId],
      )
    ).id;

    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    postRoutes = appRoutes(t.app).filter((r) => r.method === 'POST');
    console.log(`POST routes found in the app: ${postRoutes.length}\n` + postRoutes.map((r) => `  POST ${r.path}`).join('\n'));
  });
  afterAll(() => t?.close());

  /** Which arranged row a path parameter names: :id depends on the part of the site. */
  function param(name: string, path: string): string | number | undefined {
    if (name === 'id') {
      if (path.startsWith('/certifications/')) return ids.certification;
      if (path.startsWith('/learners/')) return ids.learner;
      if (path.startsWith('/audiences/')) return ids.audience;
      if (path.startsWith('/courses/')) return ids.course;
      if (path.startsWith('/admin/staff/')) return ids.staff;
      if (path.startsWith('/admin/mail/')) return ids.outbox;
      if (path.startsWith('/admin/bulk-actions/')) return ids.bulkAction;
      return undefined;
    }
    return {
      setId: ids.courseSet,
      assignmentId: ids.assignment,
      learnerId: ids.learner,
      exceptionId: ids.exception,
      exemptionId: ids.exemption,
      token: ids.token,
      kind: ids.kind,
    }[name];
  }

  // Plausible answers for every kind of form, so that a route which wrongly let the request through
  // would reach its handler's success path (and change data) rather than stop at validation.
  const fields = {
    username: 'intruder',
    displayName: 'Intruder',
    role: 'admin',
    password: 'a long enough password',
    idNumber: 'RTX1',
    firstName: 'In',
    lastName: 'Truder',
    email: 'intruder@example.org',
    name: 'Intruders',
    description: 'x',
    shortName: 'INTR',
    fullName: 'Intruder course',
    learnerIdNumber: 'RT000001',
    courseId: '1',
    completedAt: '2026-01-01',
    select: 'all',
    action: 'dismiss',
    reason: 'intrusion',
    enabled: 'yes',
    subject: 'Changed',
    body: 'Changed body',
    direction: 'up',
    kind: 'learner',
    dueRule: 'none',
    path: 'certification',
    notifyExceptions: 'yes',
    certificationId: '',
  };
  const csv = Buffer.from('id_number,username,first_name,last_name,email\nRTX9,rtx9,Ex,Nine,rtx9@example.org\n');
  const isUpload = (r: AppRoute) => /\/upload$/.test(r.path);

  it('finds the POST routes in Express too, so the Nest metadata misses none', () => {
    expect(postRoutes.length).toBeGreaterThan(20);
    expect(postRoutes.map((r) => r.path).sort()).toEqual(expressRoutes(t.app, 'post'));
  });

  it('(a) refuses every POST without a CSRF token from a signed-in administrator with 403, changing nothing', async () => {
    const failures: string[] = [];
    for (const route of postRoutes) {
      const path = fillPath(route.path, param);
      const before = await databaseSnapshot(t.db);
      const res = isUpload(route)
        ? await admin.agent.post(admin.path(path)).field('note', 'x').attach('file', csv, 'learners.csv')
        : await admin.agent.post(admin.path(path)).type('form').send(fields);
      const changed = changedTables(before, await databaseSnapshot(t.db));
      if (res.status !== 403 || changed.length > 0) failures.push(`POST ${path}: ${res.status}, changed [${changed.join(', ')}]`);
    }
    console.log(`(a) tried ${postRoutes.length} POST routes without a CSRF token`);
    expect(failures).toEqual([]);
  });

  it('(b) refuses every POST from a signed-in viewer with a valid token with 403, changing nothing, except the routes a viewer may use', async () => {
    const exempt = postRoutes.filter((r) => r.viewerMayPost || r.isPublic);
    expect(exempt.map((r) => r.path)).toContain('/logout');
    const tried = postRoutes.filter((r) => !exempt.includes(r));
    const token = /name="_csrf" value="([^"]+)"/.exec((await viewer.get('/certifications')).text)![1];
    const failures: string[] = [];
    for (const route of tried) {
      const path = fillPath(route.path, param);
      const before = await databaseSnapshot(t.db);
      const res = isUpload(route)
        ? await viewer.agent.post(`${viewer.path(path)}?_csrf=${encodeURIComponent(token)}`).attach('file', csv, 'learners.csv')
        : await viewer.post(path, fields);
      const changed = changedTables(before, await databaseSnapshot(t.db));
      const refusedByRole = res.text.includes('Only a site administrator can change anything');
      if (res.status !== 403 || !refusedByRole || changed.length > 0) {
        failures.push(`POST ${path}: ${res.status}${refusedByRole ? '' : ' (not the role refusal)'}, changed [${changed.join(', ')}]`);
      }
    }
    console.log(`(b) tried ${tried.length} POST routes as a viewer; exempt: ${exempt.map((r) => r.path).join(', ')}`);
    expect(failures).toEqual([]);
    // The viewer's token was valid all along: signing out, which a viewer may do, works with it.
    expect((await viewer.post('/logout')).status).toBe(303);
  });

  // Runs last: it changes data. It proves the arranged ids and bodies reach the handlers, so the
  // 403s above came from the CSRF check and the role check, not from a wrong URL. Public routes
  // (signing in) would switch the session to another person, so they are left to auth.e2e-spec.
  it('lets an administrator with a token reach every handler (no 403, 404 or 5xx) with the arranged ids', async () => {
    const destructive = (r: AppRoute) => /\/(delete|remove|logout)$/.test(r.path);
    const reachable = postRoutes.filter((r) => !r.isPublic);
    const ordered = [...reachable.filter((r) => !destructive(r)), ...reachable.filter(destructive)];
    const token = /name="_csrf" value="([^"]+)"/.exec((await admin.get('/certifications')).text)![1];
    const answers: string[] = [];
    const failures: string[] = [];
    const before = await databaseSnapshot(t.db);
    for (const route of ordered) {
      const path = fillPath(route.path, param);
      const res = isUpload(route)
        ? await admin.agent.post(`${admin.path(path)}?_csrf=${encodeURIComponent(token)}`).attach('file', csv, 'learners.csv')
        : await admin.post(path, fields);
      answers.push(`${res.status} POST ${path}`);
      if (res.status === 403 || res.status === 404 || res.status >= 500) failures.push(`POST ${path}: ${res.status}`);
    }
    console.log(`administrator with a token:\n  ${answers.join('\n  ')}`);
    expect(failures).toEqual([]);
    // The snapshot the refusals were compared with does see a change when there is one.
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual(
      expect.arrayContaining(['assignment', 'audience_member', 'course_set', 'message_template', 'outbox', 'staff']),
    );
  });
});
