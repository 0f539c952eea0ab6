import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { POLICY_REASON } from '../../src/assignments/sync/exception-policy-handler';
import { APPLY_POLICY_REASON } from '../../src/exceptions/exception-policy.controller';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { waitForState } from '../support/bulk';
import { changedTables, databaseSnapshot } from '../support/routes';
import { previewCount, saveFields } from '../support/preview';
import { startSmtpServer, TestSmtpServer } from '../support/smtp';
import { dateIn, lastSyncRunId, waitForSyncRun } from '../support/sync';

const DAY = 86_400_000;

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

  async function learners(count: number, options: { hire?: boolean } = {}): Promise<Array<{ id: number; idNumber: string }>> {
    const made: Array<{ id: number; idNumber: string }> = [];
    for (let i = 0; i < count; i++) {
      const idNumber = `EP${String(++seq).padStart(4, '0')}`;
      const { rows } = await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email, hire_date)
         values ($1::text, $1::text, 'Pat', $2, lower($1::text) || '@example.org', $3) returning id`,
        [idNumber, `Learner${seq}`, options.hire === false ? null : '2020-01-01'],
      );
      made.push({ id: rows[0].id, idNumber });
    }
    return made;
  }

  /** Assigns learners through the Assignments tab (an audience of them) and waits for the sync it queues. */
  async function assignAudience(certificationId: number, members: Array<{ id: number }>, due: Record<string, string>) {
    const audience = (await t.db.query(`insert into audience (name) values ($1) returning id`, [`Audience ${++seq}`])).rows[0].id;
    for (const m of members) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audience, m.id]);
    const before = await lastSyncRunId(t);
    const res = await ada.post(`/certifications/${certificationId}/assignments`, {
      kind: 'audience',
      audienceId: String(audience),
      ...due,
    });
    expect(res.status).toBe(303);
    return waitForSyncRun(t, certificationId, 'assignment added', before);
  }

  const tightDue = { dueRule: 'fixed', dueDate: dateIn(5) };
  const unknownDue = { dueRule: 'relative', dueAmount: '3', dueUnit: 'month', dueEvent: 'hire' };

  async function exceptionsOf(certificationId: number) {
    return (
      await t.db.query(
        `select e.id, e.learner_id, e.type, e.status, e.handled_by, e.reason, e.bulk_action_id,
                m.id as membership_id, m.exception_status, m.assigned_at, m.due_at
           from exception e join membership m on m.id = e.membership_id
          where e.certification_id = $1 order by e.learner_id`,
        [certificationId],
      )
    ).rows;
  }

  async function auditOf(certificationId: number) {
    return (
      await t.db.query(
        `select exception_id, action, reason, staff_id, by_policy, bulk_action_id, status_before, status_after, due_before, due_after
           from exception_audit where certification_id = $1 order by exception_id, id`,
        [certificationId],
      )
    ).rows;
  }

  async function outboxOf(certificationId: number, kind: string) {
    return (
      await t.db.query(`select membership_id, to_address, body_text from outbox where certification_id = $1 and kind = $2 order by id`, [
        certificationId,
        kind,
      ])
    ).rows;
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

  it('time allowance, set realistic due date and assign automatically: handled at sync, audited by policy, in the history, messages once, counted in the notice', async () => {
    const c = await certification('Ladder Safety');
    expect((await savePolicy(c, 'assign_realistic', 'hold')).status).toBe(303);
    const tight = await learners(2);

    // Sync raises two time allowance exceptions and the policy handles both in the same run.
    const run = await assignAudience(c, tight, tightDue);
    expect(run.stats).toMatchObject({ added: 2, exceptions_raised: { time_allowance: 2 }, exceptions_handled_by_policy: 2 });
    const handled = await exceptionsOf(c);
    expect(handled).toHaveLength(2);
    for (const row of handled) {
      expect(row).toMatchObject({
        type: 'time_allowance',
        status: 'assigned_realistic',
        handled_by: null,
        bulk_action_id: null,
        reason: POLICY_REASON,
        exception_status: 'assigned_realistic',
      });
      expect(row.assigned_at).not.toBeNull();
      // Now + 30 days of minimum time + the 7-day buffer.
      expect(Math.abs(new Date(row.due_at).getTime() - (Date.now() + 37 * DAY))).toBeLessThan(2 * 60_000);
    }
    const audit = await auditOf(c);
    expect(audit).toHaveLength(2);
    for (const row of audit) {
      expect(row).toMatchObject({
        action: 'assign_realistic',
        reason: POLICY_REASON,
        staff_id: null,
        by_policy: true,
        bulk_action_id: null,
        status_before: 'open',
        status_after: 'assigned_realistic',
      });
      expect(new Date(row.due_before).toISOString().slice(0, 10)).toBe(dateIn(5));
      expect(new Date(row.due_after).getTime()).toBeGreaterThan(Date.now() + 36 * DAY);
    }
    // Nothing is left for an administrator: no open exception, no notice.
    expect(mainText((await ada.get(`/certifications/${c}/exceptions`)).text)).toContain('There are no open exceptions');
    expect(await outboxOf(c, 'admin_exceptions')).toEqual([]);

    // The learner's history says it was done by policy, where a person's name would be.
    const page = mainText((await ada.get(`/learners/${tight[0].id}`)).text);
    expect(page).toMatch(
      /By policy Set realistic due date and assign Open → Assigned with realistic due date Handled by the certification’s exception policy/,
    );
    // And so do the exception's history on that page, and the Membership report's Handled by, page and CSV.
    expect(page).toMatch(/Time allowance Assigned with realistic due date \d+ \w+ \d{4} By policy Handled by/);
    const report = mainText((await ada.get(`/certifications/${c}/membership?columns=handled_by`)).text);
    expect(report).toContain(`${tight[0].idNumber}`);
    expect(report.match(/By policy/g)).toHaveLength(2);
    const csv = (await ada.get(`/certifications/${c}/membership.csv?columns=handled_by`)).text;
    expect(csv.match(/,By policy\r?\n/g)).toHaveLength(2);

    // The catch-up messages: enrolment, once each, sent through SMTP.
    const enrolments = await outboxOf(c, 'enrolment');
    expect(enrolments.map((r) => r.to_address).sort()).toEqual(tight.map((l) => `${l.idNumber.toLowerCase()}@example.org`).sort());
    await smtp.waitFor(
      () => tight.every((l) => smtp.received.some((m) => m.rcptTo.includes(`${l.idNumber.toLowerCase()}@example.org`))),
      20_000,
      'the enrolment messages',
    );
    expect(await outboxOf(c, 'due_soon')).toEqual([]);

    // A learner whose due date cannot be worked out is held, whatever the policy; the notice counts both runs.
    const unknown = await learners(1, { hire: false });
    const second = await assignAudience(c, unknown, unknownDue);
    expect(second.stats).toMatchObject({ exceptions_raised: { completion_time_unknown: 1 }, exceptions_handled_by_policy: 0 });
    const open = (await exceptionsOf(c)).filter((r) => r.status === 'open');
    expect(open.map((r) => [r.learner_id, r.type, r.exception_status])).toEqual([[unknown[0].id, 'completion_time_unknown', 'open']]);
    const [notice] = await outboxOf(c, 'admin_exceptions');
    expect(notice.to_address).toBe('ada@example.org');
    expect(notice.body_text).toContain('The certification «Ladder Safety» has 1 new exception.\n');
    expect(notice.body_text).toContain('\n3 raised, 2 handled by policy, 1 needs attention.\n');
    expect(notice.body_text).toContain('Open exceptions (1):\nCompletion time unknown: 1\n');

    // The next sync changes nothing and sends nothing again.
    const again = await t.app.get(MembershipSyncService).syncCertification(c, 'hourly');
    expect(again!.stats).toMatchObject({ added: 0, exceptions_handled_by_policy: 0 });
    expect(await auditOf(c)).toHaveLength(2);
    expect(await outboxOf(c, 'enrolment')).toHaveLength(2);
    expect(await outboxOf(c, 'admin_exceptions')).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const enrolmentMails = smtp.received.filter((m) => m.subject === 'You have been enrolled in Ladder Safety');
    expect(enrolmentMails).toHaveLength(2);
  });

  it("shows in an assignment's preview which exceptions the policy would handle at once, as the sync then handles them", async () => {
    const c = await certification('Crane Safety');
    expect((await savePolicy(c, 'assign_realistic', 'hold')).status).toBe(303);
    const tight = await learners(3);
    const audience = (await t.db.query(`insert into audience (name) values ($1) returning id`, [`Audience ${++seq}`])).rows[0].id;
    for (const m of tight) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audience, m.id]);
    const fields = { kind: 'audience', audienceId: String(audience), ...tightDue };

    const preview = await ada.get(`/certifications/${c}/assignments/preview?${new URLSearchParams(fields)}`);
    expect(preview.status).toBe(200);
    expect(previewCount(preview.text, c, 'Exceptions raised')).toBe(3);
    expect(previewCount(preview.text, c, 'Handled at once by the exception policy')).toBe(3);
    expect(mainText(preview.text)).toContain('short); handled at once by the exception policy: Assigned with realistic due date');
    expect(await exceptionsOf(c)).toEqual([]);

    const before = await lastSyncRunId(t);
    expect((await ada.post(`/certifications/${c}/assignments`, saveFields(preview.text))).status).toBe(303);
    const run = await waitForSyncRun(t, c, 'assignment added', before);
    expect(run.stats).toMatchObject({ exceptions_raised: { time_allowance: 3 }, exceptions_handled_by_policy: 3 });
    expect((await exceptionsOf(c)).map((r) => r.status)).toEqual(['assigned_realistic', 'assigned_realistic', 'assigned_realistic']);
  });

  it('duplicate course, do not assign automatically: Not assigned at sync, audited by policy, no messages; time allowance still held', async () => {
    const c = await certification('Harness Use');
    const other = await certification('Working at Height');
    const course = (await t.db.query(`insert into course (short_name, full_name) values ('EP-H1', 'Harness basics') returning id`)).rows[0]
      .id;
    for (const cert of [c, other]) {
      const set = (
        await t.db.query(
          `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Harness', 'all') returning id`,
          [cert],
        )
      ).rows[0].id;
      await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set, course]);
    }
    await t.db.query(`update certification set certification_min_days = 30 where id = any($1)`, [[c, other]]);
    const [duplicate] = await learners(1);
    const [tight] = await learners(1);
    // The learner is already in the other certification, which shares the course.
    await t.db.query(
      `insert into assignment (certification_id, kind, learner_id, due_rule, due_fixed_at) values ($1, 'learner', $2, 'fixed', now() + interval '300 days')`,
      [other, duplicate.id],
    );
    await t.app.get(MembershipSyncService).syncCertification(other, 'test');

    expect((await savePolicy(c, 'hold', 'do_not_assign')).status).toBe(303);
    const farDue = { dueRule: 'fixed', dueDate: dateIn(300) };
    const run = await assignAudience(c, [duplicate], farDue);
    expect(run.stats).toMatchObject({ exceptions_raised: { duplicate_course: 1 }, exceptions_handled_by_policy: 1 });
    const [row] = await exceptionsOf(c);
    expect(row).toMatchObject({
      type: 'duplicate_course',
      status: 'not_assigned',
      handled_by: null,
      reason: POLICY_REASON,
      exception_status: 'not_assigned',
      assigned_at: null,
    });
    expect(await auditOf(c)).toEqual([
      expect.objectContaining({
        action: 'do_not_assign',
        by_policy: true,
        staff_id: null,
        status_before: 'open',
        status_after: 'not_assigned',
      }),
    ]);
    const membershipId = row.membership_id;
    expect((await t.db.query(`select count(*)::int as n from outbox where membership_id = $1`, [membershipId])).rows[0].n).toBe(0);
    expect(mainText((await ada.get(`/learners/${duplicate.id}`)).text)).toMatch(/By policy Do not assign Open → Not assigned/);
    const report = mainText((await ada.get(`/certifications/${c}/membership?columns=exception_status`)).text);
    expect(report).toContain('Not assigned');

    // The time allowance policy holds: the exception stays open for an administrator, unaudited.
    const second = await assignAudience(c, [tight], tightDue);
    expect(second.stats).toMatchObject({ exceptions_raised: { time_allowance: 1 }, exceptions_handled_by_policy: 0 });
    const held = (await exceptionsOf(c)).find((r) => r.learner_id === tight.id)!;
    expect(held).toMatchObject({ type: 'time_allowance', status: 'open', exception_status: 'open', assigned_at: null });
    expect(await auditOf(c)).toHaveLength(1);
    const [notice] = await outboxOf(c, 'admin_exceptions');
    expect(notice.body_text).toContain('\n2 raised, 1 handled by policy, 1 needs attention.\n');
    expect(notice.body_text).toContain('Open exceptions (1):\nTime allowance: 1\n');
    expect((await t.db.query(`select count(*)::int as n from outbox where membership_id = $1`, [membershipId])).rows[0].n).toBe(0);
  });

  it('offers to apply a new policy to the open exceptions, through the confirmation page and a bulk action by the person who confirms', async () => {
    const c = await certification('Chainsaw Handling');
    const tight = await learners(3);
    const unknown = await learners(1, { hire: false });
    await assignAudience(c, tight, tightDue);
    await assignAudience(c, unknown, unknownDue);
    expect((await exceptionsOf(c)).map((r) => r.status)).toEqual(['open', 'open', 'open', 'open']);

    // Saving the policy leads to the offer, since three time allowance exceptions are open.
    const saved = await savePolicy(c, 'assign_realistic', 'hold');
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`/certifications/${c}/exception-policy`);
    const offer = await ada.get(saved.headers.location);
    expect(offer.status).toBe(200);
    expect(offer.text).toContain('<title>Exception policy – Chainsaw Handling – Certex</title>');
    const offerText = mainText(offer.text);
    expect(offerText).toContain('Certification “Chainsaw Handling” saved');
    expect(offerText).toContain('3 open time allowance exceptions raised before the policy');
    expect(offerText).not.toContain('Completion time unknown exceptions');
    expect(offer.text).toContain('Set realistic due date and assign for 3 learners</button>');
    // Saving it again, unchanged, offers nothing new.
    expect((await savePolicy(c, 'assign_realistic', 'hold')).headers.location).toBe(`/certifications/${c}`);

    // A viewer sees the offer but no button, and cannot use it.
    const seen = await viewer.get(`/certifications/${c}/exception-policy`);
    expect(mainText(seen.text)).toContain('3 open time allowance exceptions');
    expect(seen.text).not.toContain('apply-time-allowance');
    const before = await databaseSnapshot(t.db);
    expect((await viewer.post(`/certifications/${c}/exception-policy/apply`, { type: 'time_allowance' })).status).toBe(403);
    // A type the policy does not handle is refused with the reason, changing nothing.
    for (const type of ['duplicate_course', 'completion_time_unknown', 'unknown', '']) {
      const refused = await ada.post(`/certifications/${c}/exception-policy/apply`, { type });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('<title>Error: Exception policy – Chainsaw Handling – Certex</title>');
      expect(mainText(refused.text)).toContain('The exception policy does not handle that type of exception');
    }
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);

    const cont = await ada.post(`/certifications/${c}/exception-policy/apply`, { type: 'time_allowance' });
    expect(cont.status).toBe(303);
    const confirmUrl = cont.headers.location;
    expect(confirmUrl).toMatch(new RegExp(`^/certifications/${c}/exceptions/confirm/[0-9a-f-]{36}$`));
    const confirm = mainText((await ada.get(confirmUrl)).text);
    expect(confirm).toContain('Confirm: Set realistic due date and assign');
    expect(confirm).toContain('This will affect 3 learners');
    expect(confirm).toContain('All time allowance issues');
    expect(confirm).toContain(APPLY_POLICY_REASON);
    const ok = await ada.post(confirmUrl, {});
    expect(ok.status).toBe(303);
    const bulkActionId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    await waitForState(t.db, bulkActionId, ['completed'], 20_000, () => 'applying the policy');

    const rows = await exceptionsOf(c);
    expect(rows.filter((r) => r.type === 'time_allowance').map((r) => [r.status, r.handled_by, Number(r.bulk_action_id)])).toEqual([
      ['assigned_realistic', adaId, bulkActionId],
      ['assigned_realistic', adaId, bulkActionId],
      ['assigned_realistic', adaId, bulkActionId],
    ]);
    expect(rows.find((r) => r.type === 'completion_time_unknown')).toMatchObject({ status: 'open' });
    const audit = await auditOf(c);
    expect(audit).toHaveLength(3);
    for (const row of audit) {
      expect(row).toMatchObject({ action: 'assign_realistic', by_policy: false, staff_id: adaId, reason: APPLY_POLICY_REASON });
    }
    expect(mainText((await ada.get(`/learners/${tight[0].id}`)).text)).toContain('Ada Admin Set realistic due date and assign');
    expect(await outboxOf(c, 'enrolment')).toHaveLength(3);
    // Nothing left to offer.
    expect(mainText((await ada.get(`/certifications/${c}/exception-policy`)).text)).toContain(
      'There are no open exceptions that the policy handles.',
    );
  });

  it('reopens an exception the policy handled like any other: Open again, the due date put back', async () => {
    const c = await certification('Scaffold Inspection');
    expect((await savePolicy(c, 'assign_realistic', 'hold')).status).toBe(303);
    const [learner] = await learners(1);
    await assignAudience(c, [learner], tightDue);
    const [handled] = await exceptionsOf(c);
    expect(handled.status).toBe('assigned_realistic');
    const reopen = await ada.post(`/learners/${learner.id}/exceptions/${handled.id}/reopen`, { reason: 'Check this one by hand' });
    expect(reopen.status).toBe(303);
    const ok = await ada.post(reopen.headers.location.split('?')[0], {});
    expect(ok.status).toBe(303);
    const bulkActionId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    await waitForState(t.db, bulkActionId, ['completed'], 20_000, () => 'reopening');
    const [reopened] = await exceptionsOf(c);
    expect(reopened).toMatchObject({ status: 'open', exception_status: 'open', assigned_at: null });
    expect(new Date(reopened.due_at).toISOString().slice(0, 10)).toBe(dateIn(5));
  });
});
