import { startTestApp, TestApp, TestClient } from '../support/app';
import { createExceptionFixture } from '../support/fixtures';
import { appRoutes, AppRoute, changedTables, databaseSnapshot, fillPath } from '../support/routes';

/**
 * Every URL under /certifications/:id/ that names another row (course set, assignment, bulk
 * action draft, message template) and the bulk form's ticked exception ids, tried with
 * certification B's id and certification A's rows: each must be refused and change nothing, and
 * nothing of A may show.
 */

// Routes that answer a foreign id with 303 and a flash instead of refusing it (see the report of
// issue 7): they change nothing, but tell the administrator the row "had already been" removed.
const DELETES = ['POST /certifications/:id/assignments/:assignmentId/remove', 'POST /certifications/:id/content/sets/:setId/delete'];
const BULK_FORM = 'POST /certifications/:id/exceptions/bulk';

interface Certification {
  id: number;
  setIds: number[];
  assignmentId: number;
  exceptionIds: number[];
  token: string;
}

describe('one certification’s URLs never reach another certification’s rows', () => {
  let t: TestApp;
  let admin: TestClient;
  let a: Certification;
  let b: Certification;
  let crossRoutes: AppRoute[];
  // Text that only A's rows carry: none of it may appear on a page reached through B.
  const aSecrets = ['Alpha set one', 'Alpha set two', 'ALF0000', 'Alpha subject', 'alpha draft reason'];

  const key = (r: AppRoute) => `${r.method} ${r.path}`;

  async function arrange(prefix: string, label: string, staffId: number, courseId: number): Promise<Certification> {
    const fixture = await createExceptionFixture(t.db, { counts: { time_allowance: 3 }, prefix, shortName: `${label} cert` });
    const id = fixture.certificationId;
    const one = async (sql: string, params: unknown[]) => (await t.db.query(sql, params)).rows[0];
    const setIds: number[] = [];
    for (const [position, name] of [`${label} set one`, `${label} set two`].entries()) {
      const set = await one(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', $2, $3, 'all') returning id`,
        [id, position + 1, name],
      );
      await one(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set.id, courseId]);
      setIds.push(set.id);
    }
    const learnerId = (await one(`select min(learner_id) as id from membership where certification_id = $1`, [id])).id;
    const assignment = await one(
      `insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none') returning id`,
      [id, learnerId],
    );
    await one(`insert into membership_source (membership_id, assignment_id) select id, $2 from membership where learner_id = $1`, [
      learnerId,
      assignment.id,
    ]);
    const exceptionIds = fixture.exceptionIds.time_allowance;
    const draft = await one(
      `insert into bulk_action_draft (certification_id, created_by, action, reason, selection) values ($1, $2, 'dismiss', $3, $4::jsonb) returning token`,
      [id, staffId, `${label.toLowerCase()} draft reason`, JSON.stringify({ mode: 'ids', ids: exceptionIds, label: '3 ticked learners' })],
    );
    await one(`insert into message_template (certification_id, kind, subject, body) values ($1, 'enrolment', $2, 'Welcome') returning id`, [
      id,
      `${label} subject`,
    ]);
    return { id, setIds, assignmentId: assignment.id, exceptionIds, token: draft.token };
  }

  beforeAll(async () => {
    t = await startTestApp();
    const staffId = await t.createStaff('ada', 'admin');
    const courseId = (await t.db.query(`insert into course (short_name, full_name) values ('X101', 'Shared course') returning id`)).rows[0]
      .id;
    bodies.edit.courses = [String(courseId)];
    a = await arrange('ALF', 'Alpha', staffId, courseId);
    b = await arrange('BRV', 'Bravo', staffId, courseId);
    admin = await t.signedIn('ada');
    crossRoutes = appRoutes(t.app).filter((r) => r.path.startsWith('/certifications/:id/') && r.params.length > 1);
  });
  afterAll(() => t?.close());

  /** B's certification id with A's inner ids. */
  function mixed(name: string): string | number | undefined {
    if (name === 'id') return b.id;
    return { setId: a.setIds[0], assignmentId: a.assignmentId, token: a.token, kind: 'enrolment' }[name];
  }

  // Valid answers, so that a route which wrongly took A's row would act on it.
  const bodies: Record<string, Record<string, string | string[]>> = {
    edit: { name: 'Hijacked set', courses: [], rule: 'any', minDays: '3', joiner: 'or' },
    move: { direction: 'down' },
    'assignments/:assignmentId/edit': { dueRule: 'fixed', dueDate: '2031-01-31' },
  };
  // A preview shows the form's errors (400) without answers; with them it is a page of A's.
  const queryFor = (path: string) => (path.endsWith('/preview') ? '?dueRule=none' : '');
  const bodyFor = (path: string) => bodies[path.split('/').slice(-3).join('/')] ?? bodies[path.split('/').pop()!] ?? {};

  async function tryCross(route: AppRoute): Promise<string | null> {
    const path = fillPath(route.path, mixed) + (route.method === 'GET' ? queryFor(route.path) : '');
    const before = await databaseSnapshot(t.db);
    const res = route.method === 'GET' ? await admin.get(path) : await admin.post(path, bodyFor(route.path));
    const changed = changedTables(before, await databaseSnapshot(t.db));
    const shown = aSecrets.filter((s) => res.text.includes(s));
    console.log(`tried ${route.method} ${path} (B=${b.id}, A's rows): ${res.status}`);
    const refused = res.status === 404 || res.status === 400 || res.status === 403;
    if (!refused || changed.length > 0 || shown.length > 0) {
      return `${route.method} ${path}: ${res.status}, changed [${changed.join(', ')}], shows [${shown.join(', ')}]`;
    }
    return null;
  }

  it('finds the id-bearing routes of a certification in the app', () => {
    const found = crossRoutes.map(key);
    console.log(`id-bearing routes under /certifications/:id/ (${found.length}):\n  ${found.join('\n  ')}`);
    expect(found).toEqual(expect.arrayContaining([...DELETES, 'GET /certifications/:id/content/sets/:setId/edit']));
    expect(appRoutes(t.app).map(key)).toContain(BULK_FORM);
  });

  it('shows A’s rows through A’s own URLs (so the ids tried below are real)', async () => {
    let pages = '';
    for (const route of crossRoutes.filter((r) => r.method === 'GET')) {
      const path = fillPath(route.path, (name) => (name === 'id' ? a.id : mixed(name))) + queryFor(route.path);
      const res = await admin.get(path);
      expect([path, res.status]).toEqual([path, 200]);
      pages += res.text;
    }
    // The pages do show A's text, so its absence from B's answers below means something.
    expect(pages).toContain('Alpha set one');
    expect(pages).toContain('Alpha subject');
  });

  it('refuses every id-bearing URL of B given A’s rows, changing and showing nothing of A', async () => {
    const failures: string[] = [];
    for (const route of crossRoutes.filter((r) => !r.path.includes(':kind'))) {
      const failure = await tryCross(route);
      if (failure) failures.push(failure);
    }
    expect(failures).toEqual([]);
  });

  it('message templates are addressed by kind: B’s page and form never show or change A’s template', async () => {
    const routes = crossRoutes.filter((r) => r.path.includes(':kind'));
    expect(routes.map((r) => r.method).sort()).toEqual(['GET', 'POST']);
    const aTemplates = async () =>
      (
        await t.db.query(`select md5(string_agg(m::text, '' order by m.id)) as sum from message_template m where certification_id = $1`, [
          a.id,
        ])
      ).rows[0].sum;
    const before = await aTemplates();
    const page = await admin.get(fillPath('/certifications/:id/messages/:kind', mixed));
    console.log(`tried GET /certifications/${b.id}/messages/enrolment: ${page.status}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Bravo subject');
    expect(page.text).not.toContain('Alpha subject');
    const saved = await admin.post(fillPath('/certifications/:id/messages/:kind', mixed), {
      enabled: 'yes',
      subject: 'Bravo changed',
      body: 'New',
    });
    console.log(`tried POST /certifications/${b.id}/messages/enrolment: ${saved.status}`);
    expect(saved.status).toBe(303);
    expect(await aTemplates()).toBe(before);
    expect(
      (await t.db.query(`select subject from message_template where certification_id = $1 and kind = 'enrolment'`, [b.id])).rows[0].subject,
    ).toBe('Bravo changed');
  });

  it('refuses A’s ticked exception ids in B’s bulk form, alone or mixed with B’s, creating no draft', async () => {
    for (const ids of [a.exceptionIds.map(String), [String(b.exceptionIds[0]), String(a.exceptionIds[0])]]) {
      const before = await databaseSnapshot(t.db);
      const res = await admin.post(`/certifications/${b.id}/exceptions/bulk`, { select: 'none', action: 'dismiss', reason: 'cross', ids });
      console.log(`tried POST /certifications/${b.id}/exceptions/bulk with exception ids ${ids.join(',')}: ${res.status}`);
      expect(res.status).toBe(400);
      expect(res.text).toMatch(/selected exceptions? (does|do) not belong to this certification/);
      expect(aSecrets.filter((s) => res.text.includes(s))).toEqual([]);
      expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
    }
  });

  // Last, as it changes data: the same requests through A's own id do act, so the refusals above
  // were not caused by a body or id the handlers would refuse anyway.
  it('accepts the same requests through A’s own certification id', async () => {
    const posts = crossRoutes.filter((r) => r.method === 'POST' && !r.path.includes(':kind'));
    const ordered = [...posts.filter((r) => !/delete|remove/.test(r.path)), ...posts.filter((r) => /delete|remove/.test(r.path))];
    // Before the draft is confirmed, which dismisses these exceptions.
    const bulk = await admin.post(`/certifications/${a.id}/exceptions/bulk`, {
      select: 'none',
      action: 'dismiss',
      ids: a.exceptionIds.map(String),
    });
    console.log(`control POST /certifications/${a.id}/exceptions/bulk with A's exception ids: ${bulk.status}`);
    expect(bulk.status).toBe(303);
    for (const route of ordered) {
      const path = fillPath(route.path, (name) => (name === 'id' ? a.id : mixed(name)));
      const before = await databaseSnapshot(t.db);
      const res = await admin.post(path, bodyFor(route.path));
      console.log(`control POST ${path} (A's own): ${res.status}`);
      expect([path, res.status]).toEqual([path, 303]);
      expect(changedTables(before, await databaseSnapshot(t.db)).length).toBeGreaterThan(0);
    }
  });
});
