import { mainText, TestApp, TestClient } from '../support/app';
import { startWithStaff, syncReasons } from '../support/pages';

const VALID = {
  fullName: 'Fire Safety Awareness',
  shortName: 'FIRE',
  idNumber: 'CERT-001',
  summary: 'Yearly fire safety.',
  activePeriodAmount: '1',
  activePeriodUnit: 'year',
  windowPeriodAmount: '1',
  windowPeriodUnit: 'month',
  recertificationBase: 'expiry',
  realisticBufferDays: '7',
  timeAllowancePolicy: 'hold',
  duplicateCoursePolicy: 'hold',
};

const TAB_LABELS = [
  'Overview',
  'Content',
  'Assignments',
  'Messages',
  /^Exception report \(\d+\)$/,
  'Completion report',
  'Membership report',
];

/** `current`: the tab of this page or of the section it is in (aria-current "page" or "true"). */
function tabLinks(html: string): Array<{ label: string; href: string; current: boolean; ariaCurrent: string | null }> {
  const nav = /<nav class="app-subnav" aria-label="Certification">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
  return [...nav.matchAll(/<a class="app-subnav__link" href="([^"]+)"(?: aria-current="(page|true)")?>([^<]+)<\/a>/g)].map((m) => ({
    href: m[1],
    current: !!m[2],
    ariaCurrent: m[2] ?? null,
    label: m[3],
  }));
}

describe('certifications: list, tabs, overview and content', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let courses: number[];

  const count = async (sql: string, params: unknown[] = []) => Number((await t.db.query(sql, params)).rows[0].n);
  const create = async (fields: Record<string, string>) => {
    const res = await admin.post('/certifications', { ...VALID, ...fields });
    expect(res.status).toBe(303);
    return Number(/\/certifications\/(\d+)$/.exec(res.headers.location)![1]);
  };

  beforeAll(async () => {
    // Web role only: no sync processor runs, so queued jobs stay where the test can see them.
    ({ t, admin, viewer } = await startWithStaff({ PROCESS_ROLE: 'web' }));
    const result = await t.db.query(
      `insert into course (short_name, full_name) values ('FS101', 'Fire basics'), ('FS102', 'Extinguishers'), ('FS201', 'Evacuation'), ('FS301', 'Fire warden')
       returning id`,
    );
    courses = result.rows.map((r) => r.id);
  });
  afterAll(() => t.close());

  it('says when there are no certifications, and offers "Add a certification" to admins only', async () => {
    const page = await admin.get('/certifications');
    expect(mainText(page.text)).toContain('There are no certifications yet');
    expect(page.text).toContain('href="/certifications/new">Add a certification</a>');
    const seen = await viewer.get('/certifications');
    expect(seen.text).not.toContain('Add a certification');
    expect((await viewer.get('/certifications/new')).status).toBe(403);
  });

  it('refuses an incomplete certification form, keeping the answers', async () => {
    const res = await admin.post('/certifications', {
      ...VALID,
      fullName: '',
      shortName: 'KEEP-ME',
      activePeriodAmount: '1.5',
      windowPeriodAmount: '-1',
      realisticBufferDays: 'x',
      recertificationBase: 'sometime',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: Add a certification – Certifications – Certex</title>');
    const text = mainText(res.text);
    expect(text).toContain('There is a problem');
    expect(text).toContain('Enter the full name');
    expect(text).toContain('Active period must be a whole number from 1 to 9999');
    expect(text).toContain('Window period must be a whole number from 0 to 9999');
    expect(text).toContain('Choose the recertification date base');
    expect(text).toContain('Realistic due date buffer must be a whole number');
    expect(res.text).toContain('href="#fullName"');
    expect(res.text).toMatch(/id="shortName" name="shortName" type="text" autocomplete="off" value="KEEP-ME"/);
    expect(res.text).toMatch(/id="activePeriodAmount" name="activePeriodAmount" type="text" inputmode="numeric" value="1.5"/);
    expect(await count('select count(*) as n from certification')).toBe(0);
  });

  it('refuses a window period that is not shorter than the active period', async () => {
    for (const [amount, unit] of [
      ['1', 'year'],
      ['12', 'month'],
      ['400', 'day'],
    ]) {
      const res = await admin.post('/certifications', { ...VALID, windowPeriodAmount: amount, windowPeriodUnit: unit });
      expect(res.status).toBe(400);
      expect(mainText(res.text)).toContain('Window period must be shorter than the active period');
    }
    expect(await count('select count(*) as n from certification')).toBe(0);
  });

  it('creates a certification and shows its overview with the default buffer and both totals', async () => {
    const newForm = await admin.get('/certifications/new');
    expect(newForm.text).toMatch(/id="realisticBufferDays" name="realisticBufferDays" type="text" value="7"/);
    const id = await create({ summary: 'Yearly fire safety.\nFor every employee.' });
    const row = (await t.db.query('select * from certification where id = $1', [id])).rows[0];
    expect(row).toMatchObject({
      full_name: 'Fire Safety Awareness',
      short_name: 'FIRE',
      id_number: 'CERT-001',
      active_period_amount: 1,
      active_period_unit: 'year',
      window_period_amount: 1,
      window_period_unit: 'month',
      recertification_base: 'expiry',
      realistic_buffer_days: 7,
    });
    const page = await admin.get(`/certifications/${id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Overview – Fire Safety Awareness – Certex</title>');
    const text = mainText(page.text);
    expect(text).toContain('Certification “Fire Safety Awareness” created');
    expect(text).toContain('Short name FIRE');
    expect(text).toContain('ID number CERT-001');
    expect(text).toContain('Active period 1 year');
    expect(text).toContain('Window period 1 month');
    expect(text).toContain('Recertification date base Expiry date');
    expect(text).toContain('Realistic due date buffer 7 days');
    expect(text).toContain('Certification path 0 days');
    // The edit form gives the summary back exactly as saved, so saving it again changes nothing.
    const edit = await admin.get(`/certifications/${id}/edit`);
    expect(edit.text).toContain('>Yearly fire safety.\nFor every employee.</textarea>');
  });

  it('keeps short names and ID numbers unique, but allows several certifications without an ID number', async () => {
    const short = await admin.post('/certifications', { ...VALID, shortName: 'fire', idNumber: 'OTHER' });
    expect(short.status).toBe(400);
    expect(mainText(short.text)).toContain('There is already a certification with this short name');
    const idNumber = await admin.post('/certifications', { ...VALID, shortName: 'FIRE2', idNumber: 'CERT-001' });
    expect(idNumber.status).toBe(400);
    expect(mainText(idNumber.text)).toContain('There is already a certification with this ID number');
    expect(idNumber.text).toMatch(/value="FIRE2"/);
    await create({ fullName: 'Manual Handling', shortName: 'MH', idNumber: '' });
    await create({ fullName: 'Data Protection', shortName: 'GDPR', idNumber: '   ' });
    expect(await count('select count(*) as n from certification where id_number is null')).toBe(2);
  });

  it('lists certifications with their active learners and open exceptions', async () => {
    const id = Number((await t.db.query(`select id from certification where short_name = 'FIRE'`)).rows[0].id);
    const learners = await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email)
       select 'L' || n, 'user' || n, 'First' || n, 'Last' || n, 'u' || n || '@example.org' from generate_series(1, 3) n returning id`,
    );
    const [a, b, c] = learners.rows.map((r) => r.id);
    const members = await t.db.query(
      `insert into membership (certification_id, learner_id, exception_status, removed_at)
       values ($1, $2, 'open', null), ($1, $3, 'none', null), ($1, $4, 'none', now()) returning id`,
      [id, a, b, c],
    );
    await t.db.query(
      `insert into exception (membership_id, certification_id, learner_id, type, summary) values ($1, $2, $3, 'time_allowance', 'Too little time')`,
      [members.rows[0].id, id, a],
    );
    const page = await viewer.get('/certifications');
    const rows = [...page.text.matchAll(/<tr class="app-table__row">([\s\S]*?)<\/tr>/g)].map((m) => mainText(m[1]));
    expect(rows).toEqual(['Data Protection GDPR 0 0', 'Fire Safety Awareness FIRE 2 1', 'Manual Handling MH 0 0']);
    expect(page.text).toContain(`<a class="app-link" href="/certifications/${id}">Fire Safety Awareness</a>`);
  });

  it('shows the certification tabs with exact names, the current one marked, and the open exception count', async () => {
    const id = Number((await t.db.query(`select id from certification where short_name = 'FIRE'`)).rows[0].id);
    const tabs: Array<[string, string, number]> = [
      ['', 'Overview', 0],
      ['/content', 'Content', 1],
      ['/assignments', 'Assignments', 2],
      ['/messages', 'Messages', 3],
      ['/exceptions', 'Exception report', 4],
      ['/completion', 'Completion report', 5],
      ['/membership', 'Membership report', 6],
    ];
    for (const [suffix, name] of tabs) {
      const page = await viewer.get(`/certifications/${id}${suffix}`);
      expect(page.status).toBe(200);
      const links = tabLinks(page.text);
      expect(links).toHaveLength(7);
      links.forEach((link, i) => {
        const expected = TAB_LABELS[i];
        if (typeof expected === 'string') expect(link.label).toBe(expected);
        else expect(link.label).toMatch(expected);
      });
      expect(links.map((l) => l.href)).toEqual(tabs.map(([s]) => `/certifications/${id}${s}`));
      expect(links.filter((l) => l.current).map((l) => [l.href, l.ariaCurrent])).toEqual([[`/certifications/${id}${suffix}`, 'page']]);
      expect(links[4].label).toBe('Exception report (1)');
      expect(page.text).toContain(`<title>${name} – Fire Safety Awareness – Certex</title>`);
      expect((page.text.match(/<h1[ >]/g) ?? []).length).toBe(1);
    }
    // A second open exception raises the count; a handled one does not count.
    const [member] = (
      await t.db.query(
        `select id, learner_id from membership where certification_id = $1 and exception_status = 'none' and removed_at is null`,
        [id],
      )
    ).rows;
    await t.db.query(
      `insert into exception (membership_id, certification_id, learner_id, type, summary, status) values ($1, $2, $3, 'unknown', 'x', 'open'), ($1, $2, $3, 'unknown', 'y', 'dismissed')`,
      [member.id, id, member.learner_id],
    );
    expect(tabLinks((await viewer.get(`/certifications/${id}/content`)).text)[4].label).toBe('Exception report (2)');
    const other = Number((await t.db.query(`select id from certification where short_name = 'MH'`)).rows[0].id);
    expect(tabLinks((await viewer.get(`/certifications/${other}`)).text)[4].label).toBe('Exception report (0)');
  });

  it('answers 404 for a certification that does not exist', async () => {
    expect((await viewer.get('/certifications/999999')).status).toBe(404);
    expect((await viewer.get('/certifications/999999/content')).status).toBe(404);
    expect((await admin.get('/certifications/999999/edit')).status).toBe(404);
  });

  it('edits a certification: errors keep the answers, a good form saves', async () => {
    const id = Number((await t.db.query(`select id from certification where short_name = 'MH'`)).rows[0].id);
    const form = await admin.get(`/certifications/${id}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<title>Edit details – Manual Handling – Certex</title>');
    expect(form.text).toMatch(/id="shortName" name="shortName" type="text" autocomplete="off" value="MH"/);
    expect(tabLinks(form.text).find((l) => l.current)).toMatchObject({ label: 'Overview', ariaCurrent: 'true' });

    const bad = await admin.post(`/certifications/${id}/edit`, {
      ...VALID,
      fullName: 'Manual Handling 2',
      shortName: 'FIRE',
      idNumber: '',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<title>Error: Edit details – Manual Handling – Certex</title>');
    expect(mainText(bad.text)).toContain('There is already a certification with this short name');
    expect(bad.text).toContain('value="Manual Handling 2"');

    const window = await admin.post(`/certifications/${id}/edit`, {
      ...VALID,
      shortName: 'MH',
      idNumber: '',
      windowPeriodAmount: '2',
      windowPeriodUnit: 'year',
    });
    expect(window.status).toBe(400);
    expect(mainText(window.text)).toContain('Window period must be shorter than the active period');

    const ok = await admin.post(`/certifications/${id}/edit`, {
      ...VALID,
      fullName: 'Manual Handling Basics',
      shortName: 'MH',
      idNumber: 'MH-1',
      activePeriodAmount: '2',
      activePeriodUnit: 'year',
      windowPeriodAmount: '6',
      windowPeriodUnit: 'week',
      recertificationBase: 'completion',
      realisticBufferDays: '10',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe(`/certifications/${id}`);
    const text = mainText((await admin.get(`/certifications/${id}`)).text);
    expect(text).toContain('Certification “Manual Handling Basics” saved');
    expect(text).toContain('Active period 2 years');
    expect(text).toContain('Window period 6 weeks');
    expect(text).toContain('Recertification date base Completion date');
    expect(text).toContain('Realistic due date buffer 10 days');
  });

  describe('content', () => {
    let id: number;
    const sets = async (path = 'certification') =>
      (
        await t.db.query(
          `select s.name, s.position, s.min_days, s.joiner, s.completion_rule,
                  array(select course_id from course_set_course c where c.course_set_id = s.id order by course_id) as courses
             from course_set s where certification_id = $1 and path = $2 order by position`,
          [id, path],
        )
      ).rows;
    const totals = async () =>
      (await t.db.query('select certification_min_days as c, recertification_min_days as r from certification where id = $1', [id]))
        .rows[0];
    const setId = async (name: string) =>
      Number((await t.db.query('select id from course_set where certification_id = $1 and name = $2', [id, name])).rows[0].id);
    const addSet = (path: string, name: string, minDays: number, joiner: string, courseIds: number[], rule = 'all') =>
      admin.post(`/certifications/${id}/content/sets`, {
        path,
        name,
        courses: courseIds.map(String),
        rule,
        minDays: String(minDays),
        joiner,
      });

    beforeAll(async () => {
      id = Number((await t.db.query(`select id from certification where short_name = 'GDPR'`)).rows[0].id);
    });

    it('says when a path has no sets and shows 0 days', async () => {
      const page = await admin.get(`/certifications/${id}/content`);
      const text = mainText(page.text);
      expect(text).toContain('Certification path Total minimum time: 0 days This path has no course sets yet.');
      expect(text).toContain('Recertification path Total minimum time: 0 days This path has no course sets yet.');
      expect(page.text).toContain(`href="/certifications/${id}/content/sets/new?path&#x3D;recertification"`);
    });

    it('refuses a course set without a name, without courses or with a bad minimum time', async () => {
      const form = await admin.get(`/certifications/${id}/content/sets/new?path=certification`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('<title>Add a course set – Data Protection – Certex</title>');
      expect(form.text).toContain('Fire basics (FS101)');
      const res = await admin.post(`/certifications/${id}/content/sets`, {
        path: 'certification',
        name: 'Kept name',
        rule: 'all',
        minDays: '2.5',
        joiner: 'and',
      });
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: Add a course set – Data Protection – Certex</title>');
      const text = mainText(res.text);
      expect(text).toContain('Choose at least one course');
      expect(text).toContain('Minimum time must be a whole number of days');
      expect(res.text).toContain('href="#courses"');
      expect(res.text).toContain('id="courses"');
      expect(res.text).toContain('value="Kept name"');
      const unknown = await addSet('certification', 'Ghost', 1, 'and', [999999]);
      expect(unknown.status).toBe(400);
      expect(mainText(unknown.text)).toContain('Choose courses from the list');
      const noName = await addSet('certification', '', 1, 'and', [courses[0]]);
      expect(mainText(noName.text)).toContain('Enter a name for the course set');
      expect(noName.text).toMatch(new RegExp(`value="${courses[0]}" checked`));
      expect(await sets()).toEqual([]);
      expect(await syncReasons(t, id)).toEqual([]);
    });

    it('adds sets to both paths, stores each path total and queues a sync', async () => {
      // (4 OR 10) THEN 7: 10 + 7 = 17
      expect((await addSet('certification', 'Basics', 4, 'or', [courses[0], courses[1]], 'any')).status).toBe(303);
      expect((await addSet('certification', 'Equipment', 10, 'then', [courses[1]])).status).toBe(303);
      expect((await addSet('certification', 'Warden', 7, 'or', [courses[3]])).status).toBe(303);
      expect((await addSet('recertification', 'Refresher', 3, 'and', [courses[2]])).status).toBe(303);
      expect(await totals()).toEqual({ c: 17, r: 3 });
      expect((await sets()).map((s) => [s.name, s.position])).toEqual([
        ['Basics', 1],
        ['Equipment', 2],
        ['Warden', 3],
      ]);
      expect((await sets())[0]).toMatchObject({ completion_rule: 'any', min_days: 4, joiner: 'or', courses: [courses[0], courses[1]] });
      expect(await syncReasons(t, id)).toEqual(['content changed', 'content changed', 'content changed', 'content changed']);

      const page = await viewer.get(`/certifications/${id}/content`);
      const text = mainText(page.text);
      expect(text).toContain('Certification path Total minimum time: 17 days');
      expect(text).toContain('Recertification path Total minimum time: 3 days');
      expect(text).toContain(
        'Basics Courses Fire basics (FS101) Extinguishers (FS102) Rule Any one course Minimum time 4 days Joined to the next set by OR',
      );
      expect(text).toContain(
        'Equipment Courses Extinguishers (FS102) Rule All courses Minimum time 10 days Joined to the next set by THEN',
      );
      // The last set's joiner is not shown.
      expect(text).toMatch(/Warden Courses Fire warden \(FS301\) Rule All courses Minimum time 7 days Recertification path/);
      expect(page.text).not.toContain('Move up');
      expect(mainText((await viewer.get(`/certifications/${id}`)).text)).toContain(
        'Certification path 17 days Recertification path 3 days',
      );
    });

    it('edits a set and updates the total', async () => {
      const basics = await setId('Basics');
      const form = await admin.get(`/certifications/${id}/content/sets/${basics}/edit`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('value="Basics"');
      expect(form.text).toMatch(new RegExp(`value="${courses[1]}" checked`));
      const bad = await admin.post(`/certifications/${id}/content/sets/${basics}/edit`, {
        name: 'Basics',
        rule: 'all',
        minDays: '',
        joiner: 'or',
        courses: [String(courses[0])],
      });
      expect(bad.status).toBe(400);
      expect(mainText(bad.text)).toContain('Enter the minimum time in days');
      const res = await admin.post(`/certifications/${id}/content/sets/${basics}/edit`, {
        name: 'Basics renamed',
        rule: 'all',
        minDays: '20',
        joiner: 'or',
        courses: [String(courses[2])],
      });
      expect(res.status).toBe(303);
      expect((await sets())[0]).toMatchObject({ name: 'Basics renamed', completion_rule: 'all', min_days: 20, courses: [courses[2]] });
      // (20 OR 10) THEN 7
      expect(await totals()).toEqual({ c: 27, r: 3 });
      expect(await syncReasons(t, id)).toHaveLength(5);
    });

    it('moves sets up and down in one transaction, keeping positions contiguous and updating the total', async () => {
      const warden = await setId('Warden');
      let res = await admin.post(`/certifications/${id}/content/sets/${warden}/move`, { direction: 'up' });
      expect(res.status).toBe(303);
      expect((await sets()).map((s) => [s.name, s.position])).toEqual([
        ['Basics renamed', 1],
        ['Warden', 2],
        ['Equipment', 3],
      ]);
      // Basics(20, OR) Warden(7, OR) Equipment(10) = max(20, 7, 10) = 20
      expect(await totals()).toEqual({ c: 20, r: 3 });
      res = await admin.post(`/certifications/${id}/content/sets/${warden}/move`, { direction: 'up' });
      expect((await sets()).map((s) => s.name)).toEqual(['Warden', 'Basics renamed', 'Equipment']);
      // Cannot move past the top: nothing changes.
      res = await admin.post(`/certifications/${id}/content/sets/${warden}/move`, { direction: 'up' });
      expect(res.status).toBe(303);
      expect((await sets()).map((s) => s.name)).toEqual(['Warden', 'Basics renamed', 'Equipment']);
      res = await admin.post(`/certifications/${id}/content/sets/${warden}/move`, { direction: 'down' });
      expect((await sets()).map((s) => [s.name, s.position])).toEqual([
        ['Basics renamed', 1],
        ['Warden', 2],
        ['Equipment', 3],
      ]);
      expect(await syncReasons(t, id)).toHaveLength(8);
    });

    it('deletes a set, closes the gap and updates the total', async () => {
      const res = await admin.post(`/certifications/${id}/content/sets/${await setId('Warden')}/delete`);
      expect(res.status).toBe(303);
      expect((await sets()).map((s) => [s.name, s.position])).toEqual([
        ['Basics renamed', 1],
        ['Equipment', 2],
      ]);
      expect(await totals()).toEqual({ c: 20, r: 3 });
      expect(mainText((await admin.get(`/certifications/${id}/content`)).text)).toContain('Course set “Warden” deleted');
      const first = await setId('Basics renamed');
      await admin.post(`/certifications/${id}/content/sets/${first}/delete`);
      expect((await sets()).map((s) => [s.name, s.position])).toEqual([['Equipment', 1]]);
      expect(await totals()).toEqual({ c: 10, r: 3 });
      expect(await syncReasons(t, id)).toHaveLength(10);
    });

    it('refuses every change from a viewer with 403 and changes nothing', async () => {
      const before = await sets();
      const equipment = await setId('Equipment');
      const cert = (await t.db.query('select * from certification where id = $1', [id])).rows[0];
      const attempts = [
        viewer.post('/certifications', { ...VALID, shortName: 'VIEWER', idNumber: '' }),
        viewer.post(`/certifications/${id}/edit`, { ...VALID, shortName: 'GDPR', idNumber: '', fullName: 'Hacked' }),
        viewer.post(`/certifications/${id}/content/sets`, {
          path: 'certification',
          name: 'V',
          courses: [String(courses[0])],
          rule: 'all',
          minDays: '1',
          joiner: 'and',
        }),
        viewer.post(`/certifications/${id}/content/sets/${equipment}/edit`, {
          name: 'V',
          courses: [String(courses[0])],
          rule: 'all',
          minDays: '1',
          joiner: 'and',
        }),
        viewer.post(`/certifications/${id}/content/sets/${equipment}/move`, { direction: 'up' }),
        viewer.post(`/certifications/${id}/content/sets/${equipment}/delete`),
      ];
      for (const res of await Promise.all(attempts)) expect(res.status).toBe(403);
      for (const path of [
        `/certifications/${id}/edit`,
        `/certifications/${id}/content/sets/new?path=certification`,
        `/certifications/${id}/content/sets/${equipment}/edit`,
      ]) {
        expect((await viewer.get(path)).status).toBe(403);
      }
      expect(await sets()).toEqual(before);
      expect((await t.db.query('select * from certification where id = $1', [id])).rows[0]).toEqual(cert);
      expect(await count(`select count(*) as n from certification where short_name = 'VIEWER'`)).toBe(0);
      expect(await syncReasons(t, id)).toHaveLength(10);
    });
  });
});
