import { mainText, TestApp, TestClient } from '../support/app';
import { startWithStaff } from '../support/pages';
import { dateIn, lastSyncRunId, waitForSyncRun } from '../support/sync';

/**
 * Editing an assignment's due date rule on the Assignments tab (DOMAIN.md §10): in place, the
 * learner or audience and the memberships stay, a sync is queued, a later due date re-checks open
 * and not-assigned memberships, and no due date is ever reduced.
 */
describe('editing an assignment', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let seq = 0;

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff());
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const all = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows;

  async function certification(name: string, minDays: number): Promise<number> {
    return (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ($1, $2, 1, 'year', 1, 'month', $3, $3) returning id`,
        [name, `C${++seq}`, minDays],
      )
    ).id;
  }

  async function learners(count: number): Promise<Array<{ id: number; idNumber: string }>> {
    const made = [];
    for (let i = 0; i < count; i++) {
      seq++;
      const row = await one(
        `insert into learner (id_number, username, first_name, last_name, email) values ($1, $2, 'Lee', $3, $4) returning id, id_number`,
        [`AE${seq}`, `ae${seq}`, `Learner${seq}`, `ae${seq}@example.org`],
      );
      made.push({ id: row.id, idNumber: row.id_number });
    }
    return made;
  }

  async function audienceOf(learnerIds: number[]): Promise<number> {
    const id = (await one(`insert into audience (name) values ($1) returning id`, [`Team ${++seq}`])).id;
    for (const l of learnerIds) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [id, l]);
    return id;
  }

  /** Adds an assignment through the form and waits for the sync it queues. */
  async function addAssignment(certificationId: number, fields: Record<string, string>): Promise<number> {
    const before = await lastSyncRunId(t);
    const res = await admin.post(`/certifications/${certificationId}/assignments`, fields);
    expect(res.status).toBe(303);
    await waitForSyncRun(t, certificationId, 'assignment added', before);
    return (await one(`select max(id) as id from assignment where certification_id = $1`, [certificationId])).id;
  }

  async function edit(certificationId: number, assignmentId: number, fields: Record<string, string>) {
    const before = await lastSyncRunId(t);
    const res = await admin.post(`/certifications/${certificationId}/assignments/${assignmentId}/edit`, fields);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/certifications/${certificationId}/assignments`);
    const run = await waitForSyncRun(t, certificationId, 'assignment changed', before);
    return { res, run };
  }

  const membership = (certificationId: number, learnerId: number) =>
    one(`select * from membership where certification_id = $1 and learner_id = $2 and removed_at is null`, [certificationId, learnerId]);
  const exceptionsOf = (membershipId: number) => all(`select * from exception where membership_id = $1 order by id`, [membershipId]);
  const assignmentRow = (id: number) =>
    one(
      `select kind, learner_id, audience_id, due_rule, to_char(due_fixed_at at time zone 'UTC', 'YYYY-MM-DD') as due_fixed,
              due_amount, due_unit, due_event, due_course_id
         from assignment where id = $1`,
      [id],
    );

  it('offers an Edit link per assignment to administrators and a form filled with the current rule', async () => {
    const cert = await certification('Edit links', 0);
    const [grace] = await learners(1);
    const course = (await one(`insert into course (short_name, full_name) values ('EDIT-1', 'Editing basics') returning id`)).id;
    const learnerAssignment = await addAssignment(cert, {
      kind: 'learner',
      learnerIdNumber: grace.idNumber,
      dueRule: 'fixed',
      dueDate: '2031-03-31',
    });
    const audience = await audienceOf([]);
    const audienceAssignment = await addAssignment(cert, {
      kind: 'audience',
      audienceId: String(audience),
      dueRule: 'relative',
      dueAmount: '14',
      dueUnit: 'day',
      dueEvent: 'course_completion',
      dueCourseId: String(course),
    });

    const tab = await admin.get(`/certifications/${cert}/assignments`);
    expect(tab.text).toContain(
      `href="/certifications/${cert}/assignments/${learnerAssignment}/edit">Edit<span class="app-visually-hidden"> the due date rule of Learner: Lee Learner`,
    );
    expect(tab.text).toContain(`href="/certifications/${cert}/assignments/${audienceAssignment}/edit">Edit<span`);
    const seen = await viewer.get(`/certifications/${cert}/assignments`);
    expect(seen.text).not.toContain('/edit"');

    const form = await admin.get(`/certifications/${cert}/assignments/${learnerAssignment}/edit`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<title>Change a due date rule – Edit links – Certex</title>');
    const text = mainText(form.text);
    expect(text).toMatch(/Assigned Learner: Lee Learner\d+ \(AE\d+\) Due date rule now Fixed: 31 Mar 2031/);
    expect(text).toContain('No due date is made earlier.');
    // Who is assigned is not a field of this form.
    expect(form.text).not.toContain('name="kind"');
    expect(form.text).not.toContain('name="learnerIdNumber"');
    expect(form.text).toMatch(/id="dueRule-fixed" value="fixed" checked/);
    expect(form.text).toMatch(/id="dueDate" name="dueDate" type="date" value="2031-03-31"/);
    expect(form.text).toContain('>Preview</button>');

    const relative = await admin.get(`/certifications/${cert}/assignments/${audienceAssignment}/edit`);
    expect(relative.text).toMatch(/id="dueRule-relative" value="relative" checked/);
    expect(relative.text).toMatch(/id="dueAmount" name="dueAmount" type="text" value="14"/);
    expect(relative.text).toMatch(/<option value="day" selected>/);
    expect(relative.text).toMatch(/<option value="course_completion" selected>/);
    expect(relative.text).toContain(`<option value="${course}" selected>Editing basics (EDIT-1)</option>`);
  });

  it('checks the rule as the add form does, keeps the answers, and changes nothing on an error', async () => {
    const cert = await certification('Edit errors', 0);
    const [learner] = await learners(1);
    const id = await addAssignment(cert, { kind: 'learner', learnerIdNumber: learner.idNumber, dueRule: 'none' });
    const before = await assignmentRow(id);
    const runs = await lastSyncRunId(t);
    const expectErrors = async (fields: Record<string, string>, messages: string[]) => {
      const res = await admin.post(`/certifications/${cert}/assignments/${id}/edit`, fields);
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: Change a due date rule – Edit errors – Certex</title>');
      const summary = mainText(/<div class="app-error-summary"[\s\S]*?<\/div>/.exec(res.text)?.[0] ?? '');
      for (const message of messages) expect(summary).toContain(message);
      return res;
    };
    await expectErrors({}, ['Choose a due date rule']);
    const fixed = await expectErrors({ dueRule: 'fixed', dueDate: '2027-02-30' }, ['Enter a real due date, for example 2027-03-31']);
    expect(fixed.text).toMatch(/id="dueRule-fixed" value="fixed" checked/);
    expect(fixed.text).toMatch(/value="2027-02-30"/);
    expect(fixed.text).toContain('href="#dueDate"');
    await expectErrors({ dueRule: 'relative', dueAmount: '0', dueUnit: 'fortnight', dueEvent: 'hire' }, [
      'The amount must be a whole number from 1 to 9999',
      'Choose days, weeks, months or years',
    ]);
    await expectErrors({ dueRule: 'relative', dueAmount: '1', dueUnit: 'day', dueEvent: 'course_completion', dueCourseId: '999999' }, [
      'Choose a course from the list',
    ]);
    // A posted kind or learner is not a field of this form: the assignment's learner stays.
    const [other] = await learners(1);
    const res = await admin.post(`/certifications/${cert}/assignments/${id}/edit`, {
      kind: 'audience',
      learnerIdNumber: other.idNumber,
      audienceId: '1',
      dueRule: 'relative',
      dueAmount: '0',
    });
    expect(res.status).toBe(400);
    expect(await assignmentRow(id)).toEqual(before);
    expect(await one(`select count(*)::int as n from sync_run where id > $1 and certification_id = $2`, [runs, cert])).toEqual({ n: 0 });
  });

  it('leaves the add form as it was: who to assign is checked first, then the shared due date rule', async () => {
    const cert = await certification('Add order', 0);
    const res = await admin.post(`/certifications/${cert}/assignments`, {
      kind: 'learner',
      learnerIdNumber: '',
      dueRule: 'fixed',
      dueDate: '',
    });
    expect(res.status).toBe(400);
    const links = [...(/<div class="app-error-summary"[\s\S]*?<\/div>/.exec(res.text)?.[0] ?? '').matchAll(/href="#(\w+)"/g)].map(
      (m) => m[1],
    );
    expect(links).toEqual(['learnerIdNumber', 'dueDate']);
  });

  it('refuses a viewer, and answers 404 for another certification’s assignment or one that is gone', async () => {
    const cert = await certification('Edit refusals', 0);
    const other = await certification('Someone else', 0);
    const [learner] = await learners(1);
    const mine = await addAssignment(cert, { kind: 'learner', learnerIdNumber: learner.idNumber, dueRule: 'none' });
    const theirs = await addAssignment(other, { kind: 'learner', learnerIdNumber: learner.idNumber, dueRule: 'none' });
    const fields = { dueRule: 'fixed', dueDate: '2031-01-01' };

    expect((await viewer.get(`/certifications/${cert}/assignments/${mine}/edit`)).status).toBe(403);
    expect((await viewer.post(`/certifications/${cert}/assignments/${mine}/edit`, fields)).status).toBe(403);
    expect((await admin.get(`/certifications/${cert}/assignments/${theirs}/edit`)).status).toBe(404);
    expect((await admin.post(`/certifications/${cert}/assignments/${theirs}/edit`, fields)).status).toBe(404);
    expect((await admin.get(`/certifications/${cert}/assignments/999999/edit`)).status).toBe(404);
    expect((await admin.post(`/certifications/${cert}/assignments/999999/edit`, fields)).status).toBe(404);
    expect((await assignmentRow(mine)).due_rule).toBe('none');
    expect((await assignmentRow(theirs)).due_rule).toBe('none');
  });

  it('changes the rule in place with a success banner: same learner, same memberships, a sync queued', async () => {
    const cert = await certification('In place', 0);
    const team = await learners(2);
    const audience = await audienceOf(team.map((l) => l.id));
    const id = await addAssignment(cert, { kind: 'audience', audienceId: String(audience), dueRule: 'none' });
    const before = await all(`select id, learner_id from membership where certification_id = $1 order by id`, [cert]);
    expect(before).toHaveLength(2);

    const { res, run } = await edit(cert, id, {
      dueRule: 'fixed',
      dueDate: '2031-06-30',
      kind: 'learner',
      learnerIdNumber: team[0].idNumber,
    });
    expect(run.stats).toMatchObject({ added: 0, removed: 0, due_updated: 2 });
    expect(await assignmentRow(id)).toMatchObject({
      kind: 'audience',
      audience_id: audience,
      learner_id: null,
      due_rule: 'fixed',
      due_fixed: '2031-06-30',
    });
    expect(await all(`select id, learner_id from membership where certification_id = $1 order by id`, [cert])).toEqual(before);
    for (const l of team) expect((await membership(cert, l.id)).due_at.toISOString()).toBe('2031-06-30T23:59:59.999Z');

    const page = await admin.get(res.headers.location);
    const text = mainText(page.text);
    expect(text).toMatch(/Due date rule of audience Team \d+ changed\./);
    expect(text).toContain('Fixed: 30 Jun 2031');

    // From a fixed date to a relative rule: every field of the old rule is cleared.
    const course = (await one(`insert into course (short_name, full_name) values ('EDIT-2', 'Second course') returning id`)).id;
    await edit(cert, id, {
      dueRule: 'relative',
      dueAmount: '3',
      dueUnit: 'week',
      dueEvent: 'course_completion',
      dueCourseId: String(course),
      dueDate: '2040-01-01',
    });
    expect(await assignmentRow(id)).toMatchObject({
      due_rule: 'relative',
      due_fixed: null,
      due_amount: 3,
      due_unit: 'week',
      due_event: 'course_completion',
      due_course_id: course,
    });
    // The learners have not completed the course, but the due date they have stays.
    for (const l of team) expect((await membership(cert, l.id)).due_at.toISOString()).toBe('2031-06-30T23:59:59.999Z');
  });

  it('a later fixed date re-checks an open time allowance exception and a not-assigned membership', async () => {
    const cert = await certification('Later date', 30);
    const [open, notAssigned] = await learners(2);
    const audience = await audienceOf([open.id, notAssigned.id]);
    const id = await addAssignment(cert, { kind: 'audience', audienceId: String(audience), dueRule: 'fixed', dueDate: dateIn(10) });
    const openMembership = await membership(cert, open.id);
    const [raised] = await exceptionsOf(openMembership.id);
    expect(raised).toMatchObject({ type: 'time_allowance', status: 'open' });
    // The other learner's exception was handled with Do not assign.
    const handled = await membership(cert, notAssigned.id);
    await t.db.query(`update exception set status = 'not_assigned', handled_at = now() where membership_id = $1`, [handled.id]);
    await t.db.query(`update membership set exception_status = 'not_assigned' where id = $1`, [handled.id]);

    // Later, still short: the open exception is updated in place; the not-assigned one gets a new exception.
    const { run: stillShort } = await edit(cert, id, { dueRule: 'fixed', dueDate: dateIn(20) });
    expect(stillShort.stats).toMatchObject({
      due_updated: 2,
      rechecked: 2,
      exceptions_raised: { time_allowance: 1 },
      exceptions_updated: 1,
    });
    const [updated, ...noMore] = await exceptionsOf(openMembership.id);
    expect(noMore).toEqual([]);
    expect(updated).toMatchObject({ id: raised.id, type: 'time_allowance', status: 'open' });
    expect(updated.evidence.dueAt.slice(0, 10)).toBe(dateIn(20));
    expect((await exceptionsOf(handled.id)).map((e) => e.status)).toEqual(['not_assigned', 'open']);
    expect((await membership(cert, notAssigned.id)).exception_status).toBe('open');

    // Late enough: both resolved and assigned now.
    const { run: enough } = await edit(cert, id, { dueRule: 'fixed', dueDate: dateIn(60) });
    expect(enough.stats).toMatchObject({ due_updated: 2, rechecked: 2, exceptions_raised: {}, exceptions_resolved: 2 });
    for (const l of [open, notAssigned]) {
      const m = await membership(cert, l.id);
      expect(m.exception_status).toBe('none');
      expect(m.assigned_at).not.toBeNull();
      expect(m.due_at.toISOString().slice(0, 10)).toBe(dateIn(60));
    }
    expect((await exceptionsOf(openMembership.id)).map((e) => e.status)).toEqual(['resolved']);
    expect((await exceptionsOf(handled.id)).map((e) => e.status)).toEqual(['not_assigned', 'resolved']);
    expect(mainText((await admin.get(`/certifications/${cert}/exceptions`)).text)).toContain(
      'There are no open exceptions in this certification.',
    );
  });

  it('an earlier date never reduces a due date, and re-checks nothing', async () => {
    const cert = await certification('Earlier date', 30);
    const [short, fine] = await learners(2);
    const shortId = await addAssignment(cert, { kind: 'learner', learnerIdNumber: short.idNumber, dueRule: 'fixed', dueDate: dateIn(10) });
    const fineId = await addAssignment(cert, { kind: 'learner', learnerIdNumber: fine.idNumber, dueRule: 'fixed', dueDate: dateIn(90) });
    const before = await all(
      `select learner_id, due_at, exception_status, assigned_at from membership where certification_id = $1 order by learner_id`,
      [cert],
    );
    const exceptionsBefore = await all(`select id, type, status, evidence from exception where certification_id = $1 order by id`, [cert]);
    expect(exceptionsBefore).toHaveLength(1);

    const { run } = await edit(cert, fineId, { dueRule: 'fixed', dueDate: dateIn(5) });
    expect(run.stats).toMatchObject({ due_updated: 0, rechecked: 0, exceptions_raised: {}, exceptions_resolved: 0 });
    await edit(cert, shortId, { dueRule: 'relative', dueAmount: '1', dueUnit: 'day', dueEvent: 'assignment' });
    expect(
      await all(
        `select learner_id, due_at, exception_status, assigned_at from membership where certification_id = $1 order by learner_id`,
        [cert],
      ),
    ).toEqual(before);
    expect(await all(`select id, type, status, evidence from exception where certification_id = $1 order by id`, [cert])).toEqual(
      exceptionsBefore,
    );
    expect((await assignmentRow(fineId)).due_fixed).toBe(dateIn(5));
  });
});
