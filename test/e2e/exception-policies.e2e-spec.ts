import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { changedTables, databaseSnapshot } from '../support/routes';
import { startSmtpServer, TestSmtpServer } from '../support/smtp';

/**
 * Exception policies (DOMAIN.md §10), through HTTP against real PostgreSQL, Redis and SMTP: the
 * settings form, membership sync applying each choice as it raises exceptions, the audit "by
 * policy", the learner's history, the catch-up messages, the administrators' notice counts, and
 * applying a new policy to the open exceptions through the usual confirmation and bulk action.
 */
describe('exception policies', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let ada: TestClient;
  let viewer: TestClient;
  let adaId: number;
  let seq = 0;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url });
    adaId = await t.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await t.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
    await t.db.query(`update staff set email = 'ada@example.org' where id = $1`, [adaId]);
    ada = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  /** A certification whose path needs 30 days, with a 7-day realistic due date buffer. */
  async function certification(name: string): Promise<number> {
    const { rows } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit,
                                  certification_min_days, realistic_buffer_days)
       values ($1, $2, 1, 'year', 1, 'month', 30, 7) returning id`,
      [name, `P${++seq}`],
    );
    return rows[0].id;
  }

  /** The settings form as the edit page fills it, with the given policies. */
  async function savePolicy(id: number, timeAllowancePolicy: string, duplicateCoursePolicy: string) {
    const row = (await t.db.query(`select full_name, short_name from certification where id = $1`, [id])).rows[0];
    return ada.post(`/certifications/${id}/edit`, {
      fullName: row.full_name,
      shortName: row.short_name,
      idNumber: '',
      summary: '',
      activePeriodAmount: '1',
      activePeriodUnit: 'year',
      windowPeriodAmount: '1',
      windowPeriodUnit: 'month',
      recertificationBase: 'expiry',
      realisticBufferDays: '7',
      noticeRecipients: '',
      timeAllowancePolicy,
      duplicateCoursePolicy,
    });
  }

  it('offers both policies on the settings form, holding by default, and shows them on the overview', async () => {
    const c = await certification('Forklift Safety');
    const form = await ada.get(`/certifications/${c}/edit`);
    const text = mainText(form.text);
    expect(text).toContain('Exception policy');
    expect(form.text).toMatch(/<legend class="app-fieldset__legend"><h2 class="app-heading-l">Exception policy<\/h2><\/legend>/);
    expect(form.text).toMatch(/<legend class="app-fieldset__legend">Time allowance exceptions<\/legend>/);
    expect(form.text).toMatch(/<legend class="app-fieldset__legend">Duplicate course exceptions<\/legend>/);
    expect(form.text).toMatch(/name="timeAllowancePolicy" id="timeAllowancePolicy" value="hold" checked/);
    expect(form.text).toMatch(/name="duplicateCoursePolicy" id="duplicateCoursePolicy" value="hold" checked/);
    expect(text).toContain('Set realistic due date and assign automatically');
    expect(text).toContain('Do not assign automatically');
    expect(mainText((await ada.get(`/certifications/${c}`)).text)).toContain(
      'Time allowance exceptions Hold for an administrator Duplicate course exceptions Hold for an administrator Completion time unknown and unknown exceptions Always held for an administrator',
    );

    // Completion time unknown and unknown cannot be given a policy: any other value is refused, changing nothing.
    const before = await databaseSnapshot(t.db);
    for (const [ta, dc] of [
      ['dismiss', 'hold'],
      ['assign', 'hold'],
      ['hold', 'assign_realistic'],
      ['', ''],
    ]) {
      const refused = await savePolicy(c, ta, dc);
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('<title>Error: Edit details');
    }
    const missing = await savePolicy(c, 'dismiss', 'dismiss');
    expect(mainText(missing.text)).toContain('Choose what happens when a time allowance exception is raised');
    expect(mainText(missing.text)).toContain('Choose what happens when a duplicate course exception is raised');
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);

    const saved = await savePolicy(c, 'assign_realistic', 'do_not_assign');
    expect(saved.status).toBe(303);
    // No open exceptions to offer it to: straight back to the overview.
    expect(saved.headers.location).toBe(`/certifications/${c}`);
    expect(
      (await t.db.query(`select time_allowance_policy, duplicate_course_policy from certification where id = $1`, [c])).rows[0],
    ).toEqual({
      time_allowance_policy: 'assign_realistic',
      duplicate_course_policy: 'do_not_assign',
    });
    const overview = mainText((await ada.get(`/certifications/${c}`)).text);
    expect(overview).toContain('Time allowance exceptions Set realistic due date and assign automatically');
    expect(overview).toContain('Duplicate course exceptions Do not assign automatically');
    // A viewer sees the policy and cannot change it.
    expect(mainText((await viewer.get(`/certifications/${c}`)).text)).toContain('Set realistic due date and assign automatically');
    expect((await viewer.post(`/certifications/${c}/edit`, { timeAllowancePolicy: 'hold' })).status).toBe(403);
  });
});
