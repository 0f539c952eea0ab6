import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { csrfFrom, mainText, TestApp, TestClient } from '../support/app';
import { startWithStaff } from '../support/pages';
import { dateIn, lastSyncRunId, waitForSyncRun } from '../support/sync';

const DAY = 24 * 3600 * 1000;

/**
 * Open exceptions are re-checked when their cause may have changed (DOMAIN.md §10), at once: a
 * sync is queued by the change itself and run by the app's own worker, not left to the hourly
 * sync. A cause that is gone resolves the exception (kept in the history); one that changed
 * updates it. The days left are worked out when the report is shown.
 */
describe('re-checks of open exceptions', () => {
  let t: TestApp;
  let admin: TestClient;
  let seq = 0;

  beforeAll(async () => {
    ({ t, admin } = await startWithStaff());
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const all = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows;
  const arrangeSync = (certificationId: number) => t.app.get(MembershipSyncService).syncCertification(certificationId, 'arranged');

  async function course(name: string): Promise<number> {
    return (await one(`insert into course (short_name, full_name) values ($1, $2) returning id`, [`RC${++seq}`, name])).id;
  }

  /** A certification whose certification path is one course set of these courses and minimum time. */
  async function certification(name: string, minDays: number, courseIds: number[]): Promise<{ id: number; setId: number }> {
    const id = (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ($1, $2, 1, 'year', 1, 'month', $3, 0) returning id`,
        [name, `RC${++seq}`, minDays],
      )
    ).id;
    const setId = (
      await one(
        `insert into course_set (certification_id, path, position, name, completion_rule, min_days, joiner)
         values ($1, 'certification', 1, 'Core', 'all', $2, 'and') returning id`,
        [id, minDays],
      )
    ).id;
    for (const c of courseIds) await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [setId, c]);
    return { id, setId };
  }

  async function learner(): Promise<{ id: number; idNumber: string }> {
    seq++;
    const row = await one(
      `insert into learner (id_number, username, first_name, last_name, email) values ($1, $2, 'Robin', $3, $4) returning id, id_number`,
      [`RC${seq}`, `rc${seq}`, `Learner${seq}`, `rc${seq}@example.org`],
    );
    return { id: row.id, idNumber: row.id_number };
  }

  async function assign(certificationId: number, learnerIds: number[], rule: Record<string, unknown>): Promise<number> {
    const audience = (await one(`insert into audience (name) values ($1) returning id`, [`RC audience ${++seq}`])).id;
    for (const l of learnerIds) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audience, l]);
    return (
      await one(
        `insert into assignment (certification_id, kind, audience_id, due_rule, due_fixed_at, due_amount, due_unit, due_event, due_course_id)
         values ($1, 'audience', $2, $3, $4, $5, $6, $7, $8) returning id`,
        [
          certificationId,
          audience,
          rule.rule,
          rule.fixed ?? null,
          rule.amount ?? null,
          rule.unit ?? null,
          rule.event ?? null,
          rule.course ?? null,
        ],
      )
    ).id;
  }

  const membership = (certificationId: number, learnerId: number) =>
    one(`select * from membership where certification_id = $1 and learner_id = $2 and removed_at is null`, [certificationId, learnerId]);
  const exceptionsOf = async (certificationId: number, learnerId: number) =>
    all(`select * from exception where membership_id = $1 order by id`, [(await membership(certificationId, learnerId)).id]);

  /** Posts a course set form as the Content tab's edit page would. */
  async function editCourseSet(certificationId: number, setId: number, fields: { courses: number[]; minDays: number }) {
    const res = await admin.post(`/certifications/${certificationId}/content/sets/${setId}/edit`, {
      name: 'Core',
      courses: fields.courses.map(String),
      rule: 'all',
      minDays: String(fields.minDays),
      joiner: 'and',
    });
    expect(res.status).toBe(303);
  }

  async function upload(path: string, content: string) {
    const token = csrfFrom((await admin.get(path)).text)!;
    return admin.agent
      .post(`${admin.path(path)}?_csrf=${encodeURIComponent(token)}`)
      .attach('file', Buffer.from(content, 'utf8'), { filename: 'completions.csv', contentType: 'text/csv' });
  }

  it('a lower minimum time updates an open time allowance exception, and resolves it once the time suffices', async () => {
    const x = await course('Manual handling');
    const cert = await certification('Lower minimum', 30, [x]);
    const short = await learner();
    const imported = await learner();
    await assign(cert.id, [short.id, imported.id], { rule: 'fixed', fixed: dateIn(10) });
    await arrangeSync(cert.id);
    const [raised] = await exceptionsOf(cert.id, short.id);
    expect(raised).toMatchObject({ type: 'time_allowance', status: 'open', evidence: { minimumDays: 30 } });
    // An exception with an unknown cause, brought in by import, cannot be checked again.
    const importedMembership = (await exceptionsOf(cert.id, imported.id))[0].membership_id;
    await t.db.query(
      `update exception set type = 'unknown', evidence = '{"imported": "LEGACY 7"}', summary = 'Imported: LEGACY 7' where membership_id = $1`,
      [importedMembership],
    );

    let before = await lastSyncRunId(t);
    await editCourseSet(cert.id, cert.setId, { courses: [x], minDays: 20 });
    const lowered = await waitForSyncRun(t, cert.id, 'content changed', before);
    expect(lowered.stats).toMatchObject({ rechecked_open: 1, exceptions_updated: 1, exceptions_resolved: 0 });
    const [updated, ...none] = await exceptionsOf(cert.id, short.id);
    expect(none).toEqual([]);
    expect(updated).toMatchObject({ id: raised.id, type: 'time_allowance', status: 'open', evidence: { minimumDays: 20 } });
    expect(mainText((await admin.get(`/certifications/${cert.id}/exceptions`)).text)).toMatch(/\d+ days left, 20 needed \(\d+ short\)/);

    before = await lastSyncRunId(t);
    await editCourseSet(cert.id, cert.setId, { courses: [x], minDays: 5 });
    const enough = await waitForSyncRun(t, cert.id, 'content changed', before);
    expect(enough.stats).toMatchObject({ rechecked_open: 1, exceptions_resolved: 1 });
    const [resolved] = await exceptionsOf(cert.id, short.id);
    expect(resolved).toMatchObject({ id: raised.id, status: 'resolved', reason: 'Re-checked: the cause no longer applies' });
    expect(resolved.handled_at).not.toBeNull();
    const m = await membership(cert.id, short.id);
    expect(m.exception_status).toBe('none');
    expect(m.assigned_at).not.toBeNull();
    expect(await one(`select type, status from exception where membership_id = $1`, [importedMembership])).toEqual({
      type: 'unknown',
      status: 'open',
    });
  });

  it('another certification dropping the shared course resolves a duplicate course exception', async () => {
    const shared = await course('Fire basics');
    const other = await course('Evacuation');
    const mine = await certification('Fire warden', 0, [shared]);
    const theirs = await certification('Fire marshal', 0, [shared]);
    const l = await learner();
    await assign(theirs.id, [l.id], { rule: 'none' });
    await arrangeSync(theirs.id);
    await assign(mine.id, [l.id], { rule: 'none' });
    await arrangeSync(mine.id);
    const [raised] = await exceptionsOf(mine.id, l.id);
    expect(raised).toMatchObject({ type: 'duplicate_course', status: 'open', evidence: { otherCertificationId: theirs.id } });

    const before = await lastSyncRunId(t);
    await editCourseSet(theirs.id, theirs.setId, { courses: [other], minDays: 0 });
    const run = await waitForSyncRun(t, mine.id, 'content of a certification sharing a course changed', before);
    expect(run.stats).toMatchObject({ exceptions_resolved: 1 });
    expect((await exceptionsOf(mine.id, l.id)).map((e) => [e.id, e.status])).toEqual([[raised.id, 'resolved']]);
    expect((await membership(mine.id, l.id)).exception_status).toBe('none');
  });

  it('the learner leaving the other certification turns a duplicate course exception into what is left of its cause', async () => {
    const shared = await course('Food safety');
    const mine = await certification('Kitchen', 30, [shared]);
    const theirs = await certification('Catering', 0, [shared]);
    const l = await learner();
    const theirAssignment = await assign(theirs.id, [l.id], { rule: 'none' });
    await arrangeSync(theirs.id);
    await assign(mine.id, [l.id], { rule: 'fixed', fixed: dateIn(10) });
    await arrangeSync(mine.id);
    const [raised] = await exceptionsOf(mine.id, l.id);
    expect(raised).toMatchObject({ type: 'duplicate_course', status: 'open' });

    const before = await lastSyncRunId(t);
    const res = await admin.post(`/certifications/${theirs.id}/assignments/${theirAssignment}/remove`);
    expect(res.status).toBe(303);
    await waitForSyncRun(t, theirs.id, 'assignment removed', before);
    const run = await waitForSyncRun(t, mine.id, 'memberships of a certification sharing a course changed', before);
    expect(run.stats).toMatchObject({ exceptions_updated: 1, exceptions_resolved: 0 });
    // Still 10 days against 30: the exception stays open, now for the time allowance.
    const [updated, ...none] = await exceptionsOf(mine.id, l.id);
    expect(none).toEqual([]);
    expect(updated).toMatchObject({ id: raised.id, status: 'open', type: 'time_allowance', evidence: { minimumDays: 30 } });
    expect(mainText((await admin.get(`/certifications/${mine.id}/exceptions`)).text)).toMatch(
      /Time allowance Due .*: \d+ days left, 30 needed/,
    );
  });

  it('a completion recorded on the learner page or uploaded re-checks completion time unknown at once', async () => {
    const z = await course('Induction');
    const cert = await certification('After induction', 5, []);
    const onPage = await learner();
    const byUpload = await learner();
    await assign(cert.id, [onPage.id, byUpload.id], { rule: 'relative', amount: 14, unit: 'day', event: 'course_completion', course: z });
    await arrangeSync(cert.id);
    const [pageException] = await exceptionsOf(cert.id, onPage.id);
    const [uploadException] = await exceptionsOf(cert.id, byUpload.id);
    for (const e of [pageException, uploadException]) expect(e).toMatchObject({ type: 'completion_time_unknown', status: 'open' });

    // Completed today: due in 14 days, more than the 5 needed: resolved.
    let before = await lastSyncRunId(t);
    const recorded = await admin.post(`/learners/${onPage.id}/completions`, { courseId: String(z), completedOn: dateIn(0) });
    expect(recorded.status).toBe(303);
    await waitForSyncRun(t, cert.id, 'course completion recorded by an administrator', before);
    expect((await exceptionsOf(cert.id, onPage.id)).map((e) => [e.id, e.status])).toEqual([[pageException.id, 'resolved']]);
    const assigned = await membership(cert.id, onPage.id);
    expect(assigned.exception_status).toBe('none');
    expect(assigned.due_at.toISOString().slice(0, 10)).toBe(dateIn(14));

    // Completed 30 days ago: the due date passed 16 days ago: now a time allowance exception.
    before = await lastSyncRunId(t);
    const res = await upload(
      '/courses/completions/upload',
      `id_number,course,completed_on\n${byUpload.idNumber},${await shortName(z)},${dateIn(-30)}\n`,
    );
    expect(res.status).toBe(303);
    await waitForSyncRun(t, cert.id, 'course completions uploaded', before);
    const [changed, ...none] = await exceptionsOf(cert.id, byUpload.id);
    expect(none).toEqual([]);
    expect(changed).toMatchObject({ id: uploadException.id, status: 'open', type: 'time_allowance', evidence: { minimumDays: 5 } });
    // Due at the start of the day 16 days ago: overdue by 16 whole days and part of a 17th, counted as 17.
    const due = new Date(`${dateIn(-16)}T00:00:00Z`);
    expect(changed.evidence.dueAt.slice(0, 10)).toBe(dateIn(-16));
    const overdue = Math.ceil((Date.now() - due.getTime()) / DAY);
    expect(mainText((await admin.get(`/certifications/${cert.id}/exceptions`)).text)).toContain(
      `: overdue by ${overdue} days, 5 needed (${overdue + 5} short)`,
    );
  });

  async function shortName(courseId: number): Promise<string> {
    return (await one(`select short_name from course where id = $1`, [courseId])).short_name;
  }

  it('shows the days left as of today, not as of when the exception was raised', async () => {
    const cert = await certification('Days left', 30, []);
    const l = await learner();
    await assign(cert.id, [l.id], { rule: 'fixed', fixed: dateIn(10) });
    await arrangeSync(cert.id);
    const [raised] = await exceptionsOf(cert.id, l.id);
    const report = async () => mainText((await admin.get(`/certifications/${cert.id}/exceptions`)).text);
    const dateText = (d: Date) =>
      new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(d);

    // As if raised some time ago: the due date three days and an hour from now.
    const soon = new Date(Date.now() + 3 * DAY + 3600 * 1000);
    await t.db.query(`update exception set evidence = jsonb_set(evidence, '{dueAt}', to_jsonb($2::timestamptz)) where id = $1`, [
      raised.id,
      soon,
    ]);
    expect(await report()).toContain(`Due ${dateText(soon)}: 3 days left, 30 needed (27 short)`);
    // And once the due date has passed.
    const past = new Date(Date.now() - 2 * DAY + 3600 * 1000);
    await t.db.query(`update exception set evidence = jsonb_set(evidence, '{dueAt}', to_jsonb($2::timestamptz)) where id = $1`, [
      raised.id,
      past,
    ]);
    expect(await report()).toContain(`Due ${dateText(past)}: overdue by 2 days, 30 needed (32 short)`);
    // The stored summary still reads as on the day it was raised.
    expect((await one(`select summary from exception where id = $1`, [raised.id])).summary).toMatch(/days left, 30 needed/);
  });
});
