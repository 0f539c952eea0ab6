import { mainText, TestApp, TestClient } from '../support/app';
import { startWithStaff, syncReasons } from '../support/pages';

describe('certification Assignments tab', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let certId: number;
  let otherCertId: number;
  let learners: Record<string, number>;
  let audienceId: number;
  let otherAudienceId: number;
  let courseId: number;

  const assignments = async (certificationId = certId) =>
    (
      await t.db.query(
        `select kind, learner_id, audience_id, due_rule, to_char(due_fixed_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI') as due_fixed,
                due_amount, due_unit, due_event, due_course_id
           from assignment where certification_id = $1 order by id`,
        [certificationId],
      )
    ).rows;
  const rowsOf = (html: string) => [...html.matchAll(/<tr class="app-table__row">([\s\S]*?)<\/tr>/g)].map((m) => mainText(m[1]));
  const post = (fields: Record<string, string>) => admin.post(`/certifications/${certId}/assignments`, fields);

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff({ PROCESS_ROLE: 'web' }));
    const certs = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('First Aid at Work', 'FAW', 3, 'year', 3, 'month'), ('Food Hygiene', 'FOOD', 1, 'year', 1, 'month') returning id`,
    );
    [certId, otherCertId] = certs.rows.map((r) => r.id);
    const people = await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email) values
         ('E100', 'grace', 'Grace', 'Hopper', 'grace@example.org'),
         ('E200', 'alan', 'Alan', 'Turing', 'alan@example.org'),
         ('E300', 'ada.l', 'Ada', 'Lovelace', 'ada@example.org')
       returning id, id_number`,
    );
    learners = Object.fromEntries(people.rows.map((r) => [r.id_number, r.id]));
    const audiences = await t.db.query(`insert into audience (name) values ('Night shift'), ('Warehouse') returning id`);
    [audienceId, otherAudienceId] = audiences.rows.map((r) => r.id);
    await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2), ($1, $3)`, [
      audienceId,
      learners.E100,
      learners.E200,
    ]);
    courseId = (await t.db.query(`insert into course (short_name, full_name) values ('CPR-1', 'Resuscitation basics') returning id`))
      .rows[0].id;
  });
  afterAll(() => t.close());

  it('shows an empty tab with a sentence, and the add button to admins only', async () => {
    const page = await admin.get(`/certifications/${certId}/assignments`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Assignments – First Aid at Work – Certex</title>');
    const text = mainText(page.text);
    expect(text).toContain('No learners are in this certification yet.');
    expect(text).toContain('There are no assignments yet.');
    expect(page.text).toContain(`href="/certifications/${certId}/assignments/new">Add an assignment</a>`);
    const seen = await viewer.get(`/certifications/${certId}/assignments`);
    expect(seen.status).toBe(200);
    expect(seen.text).not.toContain('Add an assignment');
    expect((await viewer.get(`/certifications/${certId}/assignments/new`)).status).toBe(403);
  });

  it('shows every field of the form without JavaScript, grouped in fieldsets', async () => {
    const form = await admin.get(`/certifications/${certId}/assignments/new`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<title>Add an assignment – First Aid at Work – Certex</title>');
    for (const legend of ['Who to assign', 'Due date rule', 'Relative due date']) {
      expect(form.text).toContain(`<legend class="app-fieldset__legend">${legend}</legend>`);
    }
    for (const id of [
      'kind',
      'kind-audience',
      'learnerIdNumber',
      'audienceId',
      'dueRule',
      'dueRule-fixed',
      'dueRule-relative',
      'dueDate',
      'dueAmount',
      'dueUnit',
      'dueEvent',
      'dueCourseId',
    ]) {
      expect(form.text).toContain(`id="${id}"`);
      expect(form.text).toMatch(new RegExp(`<label class="app-(label|radio__label)" for="${id}">`));
    }
    expect(form.text).toContain('<option value="' + audienceId + '">Night shift</option>');
    expect(form.text).toContain(`<option value="${courseId}">Resuscitation basics (CPR-1)</option>`);
    expect(form.text).toMatch(/type="date"/);
  });

  it('checks only the fields the chosen kind and rule need, with clear messages, keeping the answers', async () => {
    const expectErrors = async (fields: Record<string, string>, messages: string[], absent: string[] = []) => {
      const res = await post(fields);
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: Add an assignment – First Aid at Work – Certex</title>');
      const text = mainText(res.text);
      for (const message of messages) expect(text).toContain(message);
      const summary = mainText(/<div class="app-error-summary"[\s\S]*?<\/div>/.exec(res.text)?.[0] ?? '');
      for (const message of messages) expect(summary).toContain(message);
      for (const message of absent) expect(summary).not.toContain(message);
      return res;
    };
    await expectErrors({}, ['Choose whether to assign a learner or an audience', 'Choose a due date rule']);
    await expectErrors(
      { kind: 'learner', dueRule: 'none', learnerIdNumber: ' ', audienceId: 'junk' },
      ['Enter the learner’s ID number'],
      ['Choose an audience'],
    );
    await expectErrors(
      { kind: 'audience', dueRule: 'none', learnerIdNumber: '' },
      ['Choose an audience'],
      ['Enter the learner’s ID number'],
    );
    const fixed = await expectErrors(
      { kind: 'learner', learnerIdNumber: 'E100', dueRule: 'fixed', dueDate: '', dueAmount: 'junk' },
      ['Enter the due date'],
      ['amount'],
    );
    expect(fixed.text).toContain('href="#dueDate"');
    expect(fixed.text).toMatch(/id="learnerIdNumber" name="learnerIdNumber" type="text" autocomplete="off" value="E100"/);
    expect(fixed.text).toMatch(/id="dueRule-fixed" value="fixed" checked/);
    await expectErrors({ kind: 'learner', learnerIdNumber: 'E100', dueRule: 'fixed', dueDate: '2027-02-30' }, [
      'Enter a real due date, for example 2027-03-31',
    ]);
    await expectErrors({ kind: 'learner', learnerIdNumber: 'E100', dueRule: 'fixed', dueDate: '31/03/2027' }, [
      'Enter the due date as year-month-day',
    ]);
    await expectErrors(
      { kind: 'learner', learnerIdNumber: 'E100', dueRule: 'relative', dueAmount: '', dueUnit: 'fortnight', dueEvent: '', dueDate: 'junk' },
      ['Enter how many days, weeks, months or years', 'Choose days, weeks, months or years', 'Choose the event the due date counts from'],
      ['Enter a real due date'],
    );
    await expectErrors(
      { kind: 'learner', learnerIdNumber: 'E100', dueRule: 'relative', dueAmount: '0', dueUnit: 'day', dueEvent: 'hire' },
      ['The amount must be a whole number from 1 to 9999'],
      ['Choose the course'],
    );
    const course = await expectErrors(
      {
        kind: 'learner',
        learnerIdNumber: 'E100',
        dueRule: 'relative',
        dueAmount: '14',
        dueUnit: 'day',
        dueEvent: 'course_completion',
        dueCourseId: '',
      },
      ['Choose the course whose completion starts the time'],
    );
    expect(course.text).toMatch(/<option value="course_completion" selected>/);
    expect(course.text).toMatch(/id="dueAmount" name="dueAmount" type="text" value="14"/);
    await expectErrors({ kind: 'learner', learnerIdNumber: 'NOPE', dueRule: 'none' }, ['There is no learner with this ID number']);
    await expectErrors({ kind: 'audience', audienceId: '999999', dueRule: 'none' }, ['Choose an audience from the list']);
    await expectErrors(
      {
        kind: 'learner',
        learnerIdNumber: 'E100',
        dueRule: 'relative',
        dueAmount: '1',
        dueUnit: 'day',
        dueEvent: 'course_completion',
        dueCourseId: '999999',
      },
      ['Choose a course from the list'],
    );
    expect(await assignments()).toEqual([]);
    expect(await syncReasons(t, certId)).toEqual([]);
  });

  it('adds learners and audiences with each kind of due date rule, shows them in words and queues a sync each time', async () => {
    const adds: Array<Record<string, string>> = [
      { kind: 'learner', learnerIdNumber: 'E100', dueRule: 'none', dueDate: 'ignored', dueAmount: 'x' },
      { kind: 'learner', learnerIdNumber: ' E200 ', dueRule: 'fixed', dueDate: '2027-03-31' },
      {
        kind: 'audience',
        audienceId: String(audienceId),
        dueRule: 'relative',
        dueAmount: '3',
        dueUnit: 'month',
        dueEvent: 'hire',
        learnerIdNumber: 'ignored',
      },
      {
        kind: 'learner',
        learnerIdNumber: 'E300',
        dueRule: 'relative',
        dueAmount: '14',
        dueUnit: 'day',
        dueEvent: 'course_completion',
        dueCourseId: String(courseId),
      },
      {
        kind: 'audience',
        audienceId: String(otherAudienceId),
        dueRule: 'relative',
        dueAmount: '1',
        dueUnit: 'week',
        dueEvent: 'first_login',
        dueCourseId: String(courseId),
      },
    ];
    for (const fields of adds) {
      const res = await post(fields);
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/certifications/${certId}/assignments`);
    }
    expect(await assignments()).toEqual([
      {
        kind: 'learner',
        learner_id: learners.E100,
        audience_id: null,
        due_rule: 'none',
        due_fixed: null,
        due_amount: null,
        due_unit: null,
        due_event: null,
        due_course_id: null,
      },
      {
        kind: 'learner',
        learner_id: learners.E200,
        audience_id: null,
        due_rule: 'fixed',
        // the end of that day in the site's zone (UTC here)
        due_fixed: '2027-03-31 23:59',
        due_amount: null,
        due_unit: null,
        due_event: null,
        due_course_id: null,
      },
      {
        kind: 'audience',
        learner_id: null,
        audience_id: audienceId,
        due_rule: 'relative',
        due_fixed: null,
        due_amount: 3,
        due_unit: 'month',
        due_event: 'hire',
        due_course_id: null,
      },
      {
        kind: 'learner',
        learner_id: learners.E300,
        audience_id: null,
        due_rule: 'relative',
        due_fixed: null,
        due_amount: 14,
        due_unit: 'day',
        due_event: 'course_completion',
        due_course_id: courseId,
      },
      {
        kind: 'audience',
        learner_id: null,
        audience_id: otherAudienceId,
        due_rule: 'relative',
        due_fixed: null,
        due_amount: 1,
        due_unit: 'week',
        due_event: 'first_login',
        due_course_id: null,
      },
    ]);
    expect(await syncReasons(t, certId)).toEqual(Array(5).fill('assignment added'));

    const page = await viewer.get(`/certifications/${certId}/assignments`);
    expect(rowsOf(page.text)).toEqual([
      'Learner: Grace Hopper (E100) None 1',
      'Learner: Alan Turing (E200) Fixed: 31 Mar 2027 1',
      'Audience: Night shift 3 months after hire date 2',
      'Learner: Ada Lovelace (E300) 14 days after completion of course «CPR-1» 1',
      'Audience: Warehouse 1 week after first login 0',
    ]);
    expect(page.text).toContain(`<a class="app-link" href="/learners/${learners.E100}">Grace Hopper (E100)</a>`);
    expect(page.text).toContain(`<a class="app-link" href="/audiences/${audienceId}">Night shift</a>`);
    expect(page.text).not.toContain('Remove');
    const adminPage = await admin.get(`/certifications/${certId}/assignments`);
    expect(mainText(adminPage.text)).toContain('Assignment added.');
    expect((adminPage.text.match(/>Remove<span/g) ?? []).length).toBe(5);
  });

  it('refuses to assign the same learner or audience twice, but allows them in another certification', async () => {
    const again = await post({ kind: 'learner', learnerIdNumber: 'E100', dueRule: 'fixed', dueDate: '2028-01-01' });
    expect(again.status).toBe(400);
    expect(mainText(again.text)).toContain('This learner is already assigned to this certification');
    const audience = await post({ kind: 'audience', audienceId: String(audienceId), dueRule: 'none' });
    expect(audience.status).toBe(400);
    expect(mainText(audience.text)).toContain('This audience is already assigned to this certification');
    expect(await assignments()).toHaveLength(5);
    expect(await syncReasons(t, certId)).toHaveLength(5);

    const elsewhere = await admin.post(`/certifications/${otherCertId}/assignments`, {
      kind: 'learner',
      learnerIdNumber: 'E100',
      dueRule: 'none',
    });
    expect(elsewhere.status).toBe(303);
    expect(await assignments(otherCertId)).toHaveLength(1);
    expect(await syncReasons(t, otherCertId)).toEqual(['assignment added']);
  });

  it('summarises memberships: assigned, with exceptions, and not assigned or dismissed only when there are any', async () => {
    const other = await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email)
       select 'S' || n, 's' || n, 'S', 'N' || n, 's' || n || '@example.org' from generate_series(1, 9) n returning id`,
    );
    const ids = other.rows.map((r) => r.id);
    const statuses = ['none', 'none', 'assigned', 'assigned_realistic', 'open', 'open', 'not_assigned', 'dismissed'];
    await t.db.query(
      `insert into membership (certification_id, learner_id, exception_status) select $1, l, s from unnest($2::int[], $3::text[]) as x(l, s)`,
      [otherCertId, ids.slice(0, 3), ['none', 'assigned', 'open']],
    );
    const few = mainText((await viewer.get(`/certifications/${otherCertId}/assignments`)).text);
    expect(few).toContain('3 learners: 2 assigned, 1 with exceptions Assignments:');
    expect(few).not.toMatch(/not assigned|dismissed/);
    await t.db.query(
      `insert into membership (certification_id, learner_id, exception_status) select $1, l, s from unnest($2::int[], $3::text[]) as x(l, s)`,
      [certId, ids.slice(0, 8), statuses],
    );
    // A removed membership does not count.
    await t.db.query(`insert into membership (certification_id, learner_id, exception_status, removed_at) values ($1, $2, 'open', now())`, [
      certId,
      ids[8],
    ]);
    const text = mainText((await viewer.get(`/certifications/${certId}/assignments`)).text);
    expect(text).toContain('8 learners: 4 assigned, 2 with exceptions, 1 not assigned, 1 dismissed');
  });

  it('removes an assignment (its membership sources go with it, memberships stay for the sync) and queues a sync', async () => {
    const [grace] = (await t.db.query(`select id from assignment where certification_id = $1 and learner_id = $2`, [certId, learners.E100]))
      .rows;
    const membership = await t.db.query(`insert into membership (certification_id, learner_id) values ($1, $2) returning id`, [
      certId,
      learners.E100,
    ]);
    await t.db.query(`insert into membership_source (membership_id, assignment_id) values ($1, $2)`, [membership.rows[0].id, grace.id]);

    const res = await admin.post(`/certifications/${certId}/assignments/${grace.id}/remove`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/certifications/${certId}/assignments`);
    expect(await assignments()).toHaveLength(4);
    expect((await t.db.query('select count(*)::int as n from membership_source where assignment_id = $1', [grace.id])).rows[0].n).toBe(0);
    expect((await t.db.query('select removed_at from membership where id = $1', [membership.rows[0].id])).rows[0].removed_at).toBeNull();
    expect((await syncReasons(t, certId)).filter((r) => r === 'assignment removed')).toHaveLength(1);
    const page = await admin.get(`/certifications/${certId}/assignments`);
    expect(mainText(page.text)).toContain('Assignment removed.');
    expect(rowsOf(page.text).some((row) => row.includes('Grace Hopper'))).toBe(false);

    // Removing it again (a double submit) changes nothing and queues nothing.
    const twice = await admin.post(`/certifications/${certId}/assignments/${grace.id}/remove`);
    expect(twice.status).toBe(303);
    expect(mainText((await admin.get(`/certifications/${certId}/assignments`)).text)).toContain('That assignment had already been removed');
    expect((await syncReasons(t, certId)).filter((r) => r === 'assignment removed')).toHaveLength(1);
    // An assignment of another certification cannot be removed through this one.
    const [foreign] = (await t.db.query(`select id from assignment where certification_id = $1`, [otherCertId])).rows;
    await admin.post(`/certifications/${certId}/assignments/${foreign.id}/remove`);
    expect(await assignments(otherCertId)).toHaveLength(1);
  });

  it('refuses a viewer’s changes with 403 and changes nothing', async () => {
    const before = await assignments();
    const jobs = (await syncReasons(t, certId)).length;
    const [first] = (await t.db.query(`select id from assignment where certification_id = $1 order by id limit 1`, [certId])).rows;
    const add = await viewer.post(`/certifications/${certId}/assignments`, { kind: 'learner', learnerIdNumber: 'S1', dueRule: 'none' });
    expect(add.status).toBe(403);
    const remove = await viewer.post(`/certifications/${certId}/assignments/${first.id}/remove`);
    expect(remove.status).toBe(403);
    expect(await assignments()).toEqual(before);
    expect(await syncReasons(t, certId)).toHaveLength(jobs);
  });
});
