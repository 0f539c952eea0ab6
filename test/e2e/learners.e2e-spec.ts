import { mainText, TestApp, TestClient } from '../support/app';
import { jobsWithReason, pageLink, startWithStaff } from '../support/pages';

const GOOD = {
  idNumber: 'E1001',
  username: 'ada.lovelace',
  firstName: 'Ada',
  lastName: 'Lovelace',
  email: 'ada@example.org',
  hireDate: '2024-03-31',
  firstLogin: '',
};

describe('learners pages', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let adminId: number;

  beforeAll(async () => {
    ({ t, admin, adminId, viewer } = await startWithStaff());
  });
  afterAll(() => t.close());

  async function learnerByIdNumber(idNumber: string) {
    const { rows } = await t.db.query(
      `select id, username, first_name, last_name, email, to_char(hire_date, 'YYYY-MM-DD') as hire_date, first_login_at, suspended
         from learner where id_number = $1`,
      [idNumber],
    );
    return rows[0];
  }

  it('adds a learner through the form and queues a membership sync', async () => {
    const form = await admin.get('/learners/new');
    expect(form.status).toBe(200);
    expect(form.text).toContain('<title>Add a learner – Learners – Certex</title>');
    const before = (await jobsWithReason(t, 'membership-sync', 'learner created')).length;
    const res = await admin.post('/learners', GOOD);
    expect(res.status).toBe(303);
    const learner = await learnerByIdNumber('E1001');
    expect(learner).toMatchObject({
      username: 'ada.lovelace',
      first_name: 'Ada',
      last_name: 'Lovelace',
      hire_date: '2024-03-31',
      suspended: false,
    });
    expect(res.headers.location).toBe(`/learners/${learner.id}`);
    const page = await admin.get(res.headers.location);
    expect(mainText(page.text)).toContain('Learner Ada Lovelace added');
    expect((await jobsWithReason(t, 'membership-sync', 'learner created')).length).toBe(before + 1);
  });

  it('shows every error, inline and in a summary, and keeps the answers', async () => {
    const res = await admin.post('/learners', {
      ...GOOD,
      idNumber: '',
      email: 'not-an-email',
      hireDate: '2024-02-30',
      username: 'bad name',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: Add a learner – Learners – Certex</title>');
    expect(res.text).toContain('role="alert"');
    expect(res.text).toContain('href="#idNumber">Enter an ID number</a>');
    expect(res.text).toContain('href="#email">Enter an email address like name@example.org</a>');
    expect(res.text).toContain('href="#username">Username can only contain letters, digits and . _ @ -</a>');
    expect(res.text).toContain('href="#hireDate">Hire date must be a real date, like 2024-03-31</a>');
    expect(res.text).toMatch(/id="email-error"><span class="app-visually-hidden">Error:<\/span> Enter an email address/);
    expect(res.text).toContain('value="not-an-email"');
    expect(res.text).toContain('value="Lovelace"');
    expect((await t.db.query(`select count(*)::int as n from learner`)).rows[0].n).toBe(1);
  });

  it('refuses an ID number or username that another learner has', async () => {
    const sameId = await admin.post('/learners', { ...GOOD, username: 'someone.else' });
    expect(sameId.status).toBe(400);
    expect(sameId.text).toContain('There is already a learner with this ID number');
    const sameUsername = await admin.post('/learners', { ...GOOD, idNumber: 'E1002', username: 'ADA.lovelace' });
    expect(sameUsername.status).toBe(400);
    expect(sameUsername.text).toContain('There is already a learner with this username');
    expect(sameUsername.text).toContain('value="E1002"');
  });

  it('edits a learner: names, suspended and first login', async () => {
    const { id } = await learnerByIdNumber('E1001');
    const form = await admin.get(`/learners/${id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('value="ada.lovelace"');
    expect(form.text).toContain('value="2024-03-31"');
    const res = await admin.post(`/learners/${id}`, {
      ...GOOD,
      lastName: 'King',
      firstLogin: '2024-04-02T09:30',
      hireDate: '',
      suspended: 'yes',
    });
    expect(res.status).toBe(303);
    const learner = await learnerByIdNumber('E1001');
    expect(learner).toMatchObject({ last_name: 'King', hire_date: null, suspended: true });
    expect(new Date(learner.first_login_at).toISOString()).toBe('2024-04-02T09:30:00.000Z');
    expect((await jobsWithReason(t, 'membership-sync', 'learner changed')).length).toBeGreaterThan(0);

    const future = await admin.post(`/learners/${id}`, { ...GOOD, firstLogin: '2999-01-01T00:00' });
    expect(future.status).toBe(400);
    expect(future.text).toContain('First login must be a real date and time, not in the future');
    expect((await learnerByIdNumber('E1001')).last_name).toBe('King');
  });

  describe('list', () => {
    beforeAll(async () => {
      // 120 more learners: Person 000 … Person 119, ID numbers P000 …
      await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email)
         select 'P' || lpad(n::text, 3, '0'), 'person' || n, 'Person', 'Zed' || lpad(n::text, 3, '0'), 'p' || n || '@example.org'
           from generate_series(0, 119) n`,
      );
    });

    it('pages 50 learners at a time by name, with next and previous links', async () => {
      const first = await admin.get('/learners');
      expect(first.status).toBe(200);
      const rows = (html: string) =>
        [...html.matchAll(/<th scope="row" class="app-table__cell"><a class="app-link" href="\/learners\/\d+">([^<]+)<\/a>/g)].map(
          (m) => m[1],
        );
      const page1 = rows(first.text);
      expect(page1).toHaveLength(50);
      expect(page1[0]).toBe('Ada King');
      expect(page1[1]).toBe('Person Zed000');
      const next = pageLink(first.text, 'next');
      const second = await admin.get(next);
      const page2 = rows(second.text);
      expect(page2).toHaveLength(50);
      expect(page2[0]).toBe('Person Zed049');
      const third = await admin.get(pageLink(second.text, 'next'));
      const page3 = rows(third.text);
      expect(page3).toHaveLength(21);
      expect(page3[20]).toBe('Person Zed119');
      expect(third.text).not.toContain('rel="next"');
      const back = await admin.get(pageLink(third.text, 'prev'));
      expect(rows(back.text)).toEqual(page2);
    });

    it('sorts by ID number, both ways, with aria-sort on the header', async () => {
      const res = await admin.get('/learners?sort=idNumber&dir=desc');
      expect(res.text).toContain('aria-sort="descending"');
      const ids = [...res.text.matchAll(/<td class="app-table__cell">([EP]\d+)<\/td>/g)].map((m) => m[1]);
      expect(ids[0]).toBe('P119');
      expect(ids[1]).toBe('P118');
      const asc = await admin.get('/learners?sort=idNumber&dir=asc');
      const idsAsc = [...asc.text.matchAll(/<td class="app-table__cell">([EP]\d+)<\/td>/g)].map((m) => m[1]);
      expect(idsAsc[0]).toBe('E1001');
    });

    it('searches by name and by ID number', async () => {
      const byName = mainText((await admin.get('/learners?q=ada+king')).text);
      expect(byName).toContain('Ada King');
      expect(byName).not.toContain('Zed000');
      const byId = mainText((await admin.get('/learners?q=p10')).text);
      expect(byId).toContain('Person Zed100');
      expect(byId).toContain('Person Zed109');
      expect(byId).not.toContain('Person Zed011');
      const none = mainText((await admin.get('/learners?q=nobody%25')).text);
      expect(none).toContain('No learner matches “nobody%”');
    });
  });

  describe('learner page', () => {
    let learnerId: number;
    let courseId: number;

    beforeAll(async () => {
      learnerId = (await learnerByIdNumber('E1001')).id;
      courseId = (await t.db.query(`insert into course (short_name, full_name) values ('FIRE-101', 'Fire safety') returning id`)).rows[0]
        .id;
      const cert = await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
         values ('Fire warden', 'FW', 1, 'year', 1, 'month') returning id`,
      );
      // An assignment covers the membership, so that a membership sync (queued by learner changes) keeps it.
      await t.db.query(`insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none')`, [
        cert.rows[0].id,
        learnerId,
      ]);
      await t.db.query(
        `insert into membership (certification_id, learner_id, due_at, exception_status, state)
         values ($1, $2, '2030-01-15T00:00:00Z', 'assigned_realistic', 'not_certified')`,
        [cert.rows[0].id, learnerId],
      );
    });

    it('shows details, certifications with exception status in words, and completions', async () => {
      const res = await viewer.get(`/learners/${learnerId}`);
      expect(res.status).toBe(200);
      const text = mainText(res.text);
      expect(text).toContain('Ada King');
      expect(text).toContain('E1001');
      expect(text).toMatch(/Fire warden Not certified 15 Jan 2030 Assigned with realistic due date/);
      expect(res.text).toMatch(/href="\/certifications\/\d+">Fire warden<\/a>/);
      expect(text).toContain('Ada King has no course completions');
      // A viewer sees no forms to change anything.
      expect(text).not.toContain('Record a course completion');
      expect(text).not.toContain('Edit learner');
    });

    it('lets an administrator record a course completion, and queues a completion check', async () => {
      const res = await admin.post(`/learners/${learnerId}/completions`, { courseId: String(courseId), completedOn: '2025-06-01' });
      expect(res.status).toBe(303);
      const { rows } = await t.db.query(
        `select course_id, completed_at, source, recorded_by from course_completion where learner_id = $1`,
        [learnerId],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ course_id: courseId, source: 'admin', recorded_by: adminId });
      expect(new Date(rows[0].completed_at).toISOString()).toBe('2025-06-01T00:00:00.000Z');
      const jobs = await jobsWithReason(t, 'lifecycle', 'course completion recorded by an administrator');
      expect(jobs.map((j) => j.data.learnerIds)).toContainEqual([learnerId]);
      const page = mainText((await admin.get(`/learners/${learnerId}`)).text);
      expect(page).toContain('Course completion recorded on 1 Jun 2025');
      expect(page).toMatch(/Fire safety \(FIRE-101\) 1 Jun 2025 Administrator \(Ada Admin\)/);
    });

    it('refuses a completion date in the future or a missing course', async () => {
      const res = await admin.post(`/learners/${learnerId}/completions`, { courseId: '', completedOn: '2099-01-01' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: Ada King – Learners – Certex</title>');
      expect(res.text).toContain('href="#courseId">Select a course</a>');
      expect(res.text).toContain('href="#completedOn">Completion date must be today or in the past</a>');
      expect(res.text).toContain('value="2099-01-01"');
      expect((await t.db.query(`select count(*)::int as n from course_completion`)).rows[0].n).toBe(1);
    });
  });

  it('refuses every change to a viewer and changes nothing', async () => {
    const { id } = await learnerByIdNumber('E1001');
    const course = (await t.db.query(`select id from course limit 1`)).rows[0].id;
    expect((await viewer.get('/learners/new')).status).toBe(403);
    expect((await viewer.get(`/learners/${id}/edit`)).status).toBe(403);
    expect((await viewer.post('/learners', { ...GOOD, idNumber: 'V1', username: 'v1' })).status).toBe(403);
    expect((await viewer.post(`/learners/${id}`, { ...GOOD, lastName: 'Changed' })).status).toBe(403);
    expect((await viewer.post(`/learners/${id}/completions`, { courseId: String(course), completedOn: '2025-01-01' })).status).toBe(403);
    expect(await learnerByIdNumber('V1')).toBeUndefined();
    expect((await learnerByIdNumber('E1001')).last_name).toBe('King');
    expect((await t.db.query(`select count(*)::int as n from course_completion`)).rows[0].n).toBe(1);
  });
});
