import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { LifecycleProcessor } from '../../src/lifecycle/lifecycle.processor';
import { LifecycleService } from '../../src/lifecycle/lifecycle.service';
import { LearnerMessagesService } from '../../src/notifications/learner-messages.service';
import { ExemptionsService } from '../../src/exemptions/exemptions.service';
import { addDays, endOfDay, todayIn } from '../../src/common/time-zone';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { changedTables, databaseSnapshot } from '../support/routes';

const DAY = 24 * 3600 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * DAY);

describe('exemptions (DOMAIN.md §10)', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const all = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows;
  const today = () => todayIn(t.config.siteTimeZone);

  async function learner(last: string): Promise<number> {
    seq++;
    return (
      await one(
        `insert into learner (id_number, username, first_name, last_name, email) values ($1::text, $1::text, 'Lee', $2, $1::text || '@example.org') returning id`,
        [`X${seq}`, last],
      )
    ).id;
  }

  /** A certification needing 30 days, each learner assigned directly with a fixed due date `dueInDays` away. */
  async function certification(name: string, learners: Array<{ id: number; dueInDays: number }>): Promise<number> {
    const id = (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ($1, $2, 1, 'year', 1, 'month', 30, 30) returning id`,
        [name, `${name.slice(0, 20)}-${++seq}`],
      )
    ).id;
    for (const l of learners) await assign(id, l.id, l.dueInDays);
    await sync(id);
    return id;
  }
  const assign = (certificationId: number, learnerId: number, dueInDays: number) =>
    t.db.query(
      `insert into assignment (certification_id, kind, learner_id, due_rule, due_fixed_at) values ($1, 'learner', $2, 'fixed', $3)`,
      [certificationId, learnerId, inDays(dueInDays)],
    );
  const sync = (certificationId: number) => t.app.get(MembershipSyncService).syncCertification(certificationId, 'test');
  const membership = (certificationId: number, learnerId: number) =>
    one(`select * from membership where certification_id = $1 and learner_id = $2 and removed_at is null`, [certificationId, learnerId]);
  const outboxKeys = async (membershipId: number) =>
    (await all(`select message_key from outbox where membership_id = $1 order by message_key`, [membershipId])).map((r) => r.message_key);
  const exemptionForm = (learnerId: number, certificationId: number) =>
    admin.get(`/learners/${learnerId}/exemptions/new?certification=${certificationId}`);

  it('exempts a learner from their page: reason and end date, open exception closed, Exempt everywhere; bad input changes nothing', async () => {
    const late = await learner('Late');
    const fine = await learner('Fine');
    const cert = await certification('Forklift', [
      { id: late, dueInDays: 5 },
      { id: fine, dueInDays: 100 },
    ]);
    const before = await membership(cert, late);
    expect(before.exception_status).toBe('open');
    const [open] = await all(`select * from exception where membership_id = $1`, [before.id]);
    expect(open.status).toBe('open');

    const page = await admin.get(`/learners/${late}`);
    expect(page.text).toContain(`/learners/${late}/exemptions/new?certification&#x3D;${cert}`);
    expect(mainText((await exemptionForm(late, cert)).text)).toContain('Exempt from Forklift');

    const snapshot = await databaseSnapshot(t.db);
    for (const [fields, message] of [
      [{ reason: '   ', endsOn: '' }, 'Enter the reason for the exemption'],
      [{ reason: 'Long-term leave', endsOn: '2027-02-30' }, 'Enter the end date as a real date'],
      [{ reason: 'Long-term leave', endsOn: 'soon' }, 'Enter the end date as a real date'],
      [{ reason: 'Long-term leave', endsOn: addDays(today(), -1) }, 'The end date must be today or later'],
      [{ reason: 'x'.repeat(1001), endsOn: '' }, 'Reason must be 1000 characters or fewer'],
    ] as const) {
      const res = await admin.post(`/learners/${late}/exemptions`, { certificationId: String(cert), ...fields });
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: ');
      expect(mainText(res.text)).toContain(message);
      expect(res.text).toContain(`value="${fields.endsOn}"`);
    }
    // A certification the learner is not in, or garbage: not found.
    expect((await admin.post(`/learners/${late}/exemptions`, { certificationId: '999999', reason: 'r' })).status).toBe(404);
    expect((await admin.post(`/learners/${late}/exemptions`, { certificationId: 'x', reason: 'r' })).status).toBe(404);
    expect(changedTables(snapshot, await databaseSnapshot(t.db))).toEqual([]);

    const endsOn = addDays(today(), 10);
    const res = await admin.post(`/learners/${late}/exemptions`, { certificationId: String(cert), reason: 'Long-term leave', endsOn });
    expect(res.status).toBe(303);
    const after = await membership(cert, late);
    expect(after).toMatchObject({ exception_status: 'exempt', assigned_at: null, report_state: 'exempt' });
    expect(after.due_at).toEqual(before.due_at);
    const exemption = await one(`select * from exemption where learner_id = $1`, [late]);
    expect(exemption).toMatchObject({ certification_id: cert, reason: 'Long-term leave', ended_at: null });
    expect(exemption.ends_at).toEqual(endOfDay(endsOn, t.config.siteTimeZone));
    expect(await one(`select status, reason from exception where id = $1`, [open.id])).toEqual({
      status: 'resolved',
      reason: 'Exempted: Long-term leave',
    });

    const shown = mainText((await admin.get(`/learners/${late}`)).text);
    expect(shown).toContain('Lee Late is exempt from Forklift');
    expect(shown).toMatch(/Forklift : Exempt since \d+ \w+ \d{4}, until \d+ \w+ \d{4}: Long-term leave/);
    expect(shown).toMatch(/Forklift Not certified \d+ \w+ \d{4} Exempt Exemptions/);
    expect(shown).toMatch(/Forklift \d+ \w+ \d{4}, \d\d:\d\d UTC by Ada Admin Long-term leave \d+ \w+ \d{4} In force/);
    // Exempt already: the form is not offered again.
    expect((await exemptionForm(late, cert)).status).toBe(404);

    // Reports: the state, counted apart, filtered, in both CSVs.
    const report = mainText((await admin.get(`/certifications/${cert}/completion`)).text);
    expect(report).toContain('Exempt: 1');
    expect(report).toContain('Not certified: 1');
    expect(report).toContain('Exception pending: 0');
    const filtered = mainText((await admin.get(`/certifications/${cert}/completion?state=exempt`)).text);
    expect(filtered).toContain('Lee Late');
    expect(filtered).not.toContain('Lee Fine');
    expect((await admin.get(`/certifications/${cert}/completion.csv`)).text).toMatch(/Lee Late,X\d+,Exempt,/);
    const membershipCsv = await admin.get(`/certifications/${cert}/membership.csv?columns=exception_status,state`);
    expect(membershipCsv.text).toMatch(/Lee Late,X\d+,.*,Exempt,Exempt/);
    expect(mainText((await admin.get(`/certifications/${cert}/membership?status=exempt`)).text)).toContain('Lee Late');
    expect(mainText((await admin.get(`/certifications/${cert}/exceptions`)).text)).not.toContain('Lee Late');
  });

  it('lets a viewer see an exemption but neither start nor end one', async () => {
    const l = await learner('Viewed');
    const cert = await certification('Viewer cert', [{ id: l, dueInDays: 100 }]);
    const page = await viewer.get(`/learners/${l}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('/exemptions/new');
    expect((await viewer.get(`/learners/${l}/exemptions/new?certification=${cert}`)).status).toBe(403);
    expect((await viewer.get(`/certifications/${cert}/exemptions/new`)).status).toBe(403);
    const snapshot = await databaseSnapshot(t.db);
    expect((await viewer.post(`/learners/${l}/exemptions`, { certificationId: String(cert), reason: 'No' })).status).toBe(403);
    expect((await viewer.post(`/certifications/${cert}/exemptions`, { reason: 'No' })).status).toBe(403);
    expect(changedTables(snapshot, await databaseSnapshot(t.db))).toEqual([]);

    await admin.post(`/learners/${l}/exemptions`, { certificationId: String(cert), reason: 'Secondment' });
    const exemption = await one(`select id from exemption where learner_id = $1`, [l]);
    const seen = await viewer.get(`/learners/${l}`);
    expect(mainText(seen.text)).toContain('Exempt since');
    expect(seen.text).not.toContain(`/exemptions/${exemption.id}/end`);
    const held = await databaseSnapshot(t.db);
    expect((await viewer.post(`/learners/${l}/exemptions/${exemption.id}/end`)).status).toBe(403);
    expect(changedTables(held, await databaseSnapshot(t.db))).toEqual([]);
  });

  it('sends an exempt learner no messages and takes no lifecycle step for them', async () => {
    const quiet = await learner('Quiet');
    const heard = await learner('Heard');
    const cert = await certification('Messages', [
      { id: quiet, dueInDays: 40 },
      { id: heard, dueInDays: 40 },
    ]);
    await admin.post(`/learners/${quiet}/exemptions`, { certificationId: String(cert), reason: 'On leave' });
    const q = await membership(cert, quiet);
    const h = await membership(cert, heard);
    const sweep = t.app.get(LearnerMessagesService);
    // Now, and 50 days on (due soon and overdue have come for the others).
    await sweep.sweep(new Date());
    await sweep.sweep(inDays(50));
    expect(await outboxKeys(q.id)).toEqual([]);
    expect(await outboxKeys(h.id)).toEqual([`due_soon:${h.id}:1`, `enrolment:${h.id}:1`, `overdue:${h.id}:1`]);

    // A certified member exempted later: the window neither opens nor does it expire while exempt.
    await t.db.query(
      `update membership set state = 'certified', certified_at = now() - interval '400 days', expires_at = now() - interval '1 day',
              window_opens_at = now() - interval '30 days' where id = $1`,
      [q.id],
    );
    await t.app.get(LifecycleService).runSteps(new Date());
    expect(await one(`select state, cycle from membership where id = $1`, [q.id])).toEqual({ state: 'certified', cycle: 1 });
    expect(await all(`select * from membership_history where membership_id = $1`, [q.id])).toEqual([]);
    await sweep.sweep(new Date());
    expect(await outboxKeys(q.id)).toEqual([]);
  });

  it('raises no exception for an exempt learner, who rejoins exempt after leaving', async () => {
    const l = await learner('Rejoin');
    const cert = await certification('Rejoiners', [{ id: l, dueInDays: 100 }]);
    await admin.post(`/learners/${l}/exemptions`, { certificationId: String(cert), reason: 'Contractor' });
    await t.db.query(`delete from assignment where certification_id = $1`, [cert]);
    await sync(cert);
    expect(await membership(cert, l)).toBeUndefined();
    // Assigned again with too little time: a time allowance exception for anyone else.
    await assign(cert, l, 3);
    const result = await sync(cert);
    expect(result!.stats.added).toBe(1);
    expect(result!.stats.exceptions_raised).toEqual({});
    const rejoined = await membership(cert, l);
    expect(rejoined).toMatchObject({ exception_status: 'exempt', assigned_at: null, report_state: 'exempt' });
    expect(await all(`select * from exception where certification_id = $1 and status = 'open'`, [cert])).toEqual([]);
    // Another learner with the same rule does get one.
    const other = await learner('Other');
    await assign(cert, other, 3);
    expect((await sync(cert))!.stats.exceptions_raised).toEqual({ time_allowance: 1 });
  });

  it('ends an exemption at its end date: assigned with a realistic due date, messages sent once, history says so', async () => {
    const l = await learner('Expiring');
    const cert = await certification('Expiry', [{ id: l, dueInDays: 5 }]);
    await admin.post(`/learners/${l}/exemptions`, { certificationId: String(cert), reason: 'Sick leave', endsOn: today() });
    const m = await membership(cert, l);
    const processor = t.app.get(LifecycleProcessor);
    // Today's end has not come yet: nothing ends.
    expect((await processor.steps()).exemptionsEnded).toEqual({ ended: 0, assigned: 0, messages: 0 });
    expect((await membership(cert, l)).exception_status).toBe('exempt');

    await t.db.query(`update exemption set ends_at = now() - interval '1 minute' where learner_id = $1`, [l]);
    const before = Date.now();
    expect((await processor.steps()).exemptionsEnded).toEqual({ ended: 1, assigned: 1, messages: 1 });
    const after = await membership(cert, l);
    expect(after.exception_status).toBe('none');
    expect(after.assigned_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    // 30 days of minimum time and the 7 days' buffer from now, later than the 5 days it had.
    expect(Math.round((after.due_at.getTime() - Date.now()) / DAY)).toBe(37);
    expect(await outboxKeys(m.id)).toEqual([`enrolment:${m.id}:1`]);
    const ended = await one(`select * from exemption where learner_id = $1`, [l]);
    expect(ended).toMatchObject({ end_cause: 'end_date', ended_by: null });
    expect(ended.due_after).toEqual(after.due_at);

    // Run again: nothing more, no message twice.
    expect((await processor.steps()).exemptionsEnded).toEqual({ ended: 0, assigned: 0, messages: 0 });
    await t.app.get(LearnerMessagesService).sweep(new Date());
    expect(await outboxKeys(m.id)).toEqual([`enrolment:${m.id}:1`]);

    const shown = mainText((await admin.get(`/learners/${l}`)).text);
    expect(shown).toMatch(/Exemption ended \(end date reached\) on .*; assigned with realistic due date \d+ \w+ \d{4}/);
    expect(shown).toContain('Expiry : not exempt.');
  });

  it('ends an exemption now from the learner page', async () => {
    const l = await learner('Returning');
    const cert = await certification('End now', [{ id: l, dueInDays: 100 }]);
    await admin.post(`/learners/${l}/exemptions`, { certificationId: String(cert), reason: 'Travel' });
    const exemption = await one(`select id from exemption where learner_id = $1`, [l]);
    const page = await admin.get(`/learners/${l}`);
    expect(page.text).toContain(`/learners/${l}/exemptions/${exemption.id}/end`);
    const res = await admin.post(`/learners/${l}/exemptions/${exemption.id}/end`);
    expect(res.status).toBe(303);
    const m = await membership(cert, l);
    expect(m.exception_status).toBe('none');
    expect(m.assigned_at).not.toBeNull();
    expect(await outboxKeys(m.id)).toEqual([`enrolment:${m.id}:1`]);
    expect(mainText((await admin.get(`/learners/${l}`)).text)).toMatch(
      /Exemption ended \(ended by Ada Admin\) on .*; assigned with realistic due date/,
    );
    // Ended already, or another learner's: not found, nothing changed.
    expect((await admin.post(`/learners/${l}/exemptions/${exemption.id}/end`)).status).toBe(404);
    const other = await learner('Stranger');
    expect((await admin.post(`/learners/${other}/exemptions/${exemption.id}/end`)).status).toBe(404);
  });

  it('exempts in bulk the learners a Completion report filter selects, after a confirmation page', async () => {
    const smiths = [await learner('Smith'), await learner('Smithson'), await learner('Smith')];
    const jones = await learner('Jones');
    const cert = await certification(
      'Bulk',
      [...smiths, jones].map((id) => ({ id, dueInDays: 100 })),
    );
    const report = await admin.get(`/certifications/${cert}/completion?q=smith`);
    expect(report.text).toContain(`/certifications/${cert}/exemptions/new?q&#x3D;smith`);

    const form = await admin.get(`/certifications/${cert}/exemptions/new?q=smith`);
    expect(mainText(form.text)).toContain('3 learners to exempt');
    const snapshot = await databaseSnapshot(t.db);
    const refused = await admin.get(`/certifications/${cert}/exemptions/confirm?q=smith&reason=&endsOn=2020-01-01`);
    expect(refused.status).toBe(400);
    expect(mainText(refused.text)).toContain('Enter the reason for the exemption');
    expect(mainText(refused.text)).toContain('The end date must be today or later');
    const refusedPost = await admin.post(`/certifications/${cert}/exemptions`, { q: 'smith', reason: '', endsOn: '' });
    expect(refusedPost.status).toBe(400);
    expect(changedTables(snapshot, await databaseSnapshot(t.db))).toEqual([]);

    const endsOn = addDays(today(), 30);
    const confirm = await admin.get(`/certifications/${cert}/exemptions/confirm?q=smith&state=&reason=Project+team&endsOn=${endsOn}`);
    expect(confirm.status).toBe(200);
    expect(mainText(confirm.text)).toContain('This will exempt 3 learners');
    expect(mainText(confirm.text)).toContain('Project team');
    expect(changedTables(snapshot, await databaseSnapshot(t.db))).toEqual([]);

    const ok = await admin.post(`/certifications/${cert}/exemptions`, { q: 'smith', state: '', reason: 'Project team', endsOn });
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toContain(`/certifications/${cert}/completion?q=smith`);
    expect(mainText((await admin.get(ok.headers.location)).text)).toContain('3 learners exempted');
    const states = await all(`select learner_id, exception_status from membership where certification_id = $1 order by learner_id`, [cert]);
    expect(states).toEqual(
      [...smiths, jones].sort((a, b) => a - b).map((id) => ({ learner_id: id, exception_status: id === jones ? 'none' : 'exempt' })),
    );
    expect(mainText((await admin.get(`/certifications/${cert}/completion`)).text)).toContain('Exempt: 3');
    const ends = await all(`select distinct ends_at from exemption where certification_id = $1`, [cert]);
    expect(ends).toEqual([{ ends_at: endOfDay(endsOn, t.config.siteTimeZone) }]);

    // The same form sent twice exempts no one twice.
    const again = await admin.post(`/certifications/${cert}/exemptions`, { q: 'smith', state: '', reason: 'Project team', endsOn });
    expect(again.status).toBe(303);
    expect(mainText((await admin.get(again.headers.location)).text)).toContain('0 learners exempted');
    expect((await one(`select count(*)::int as n from exemption where certification_id = $1`, [cert])).n).toBe(3);

    // Nothing left to exempt under this filter: the confirmation says so and changes nothing.
    const none = await admin.get(`/certifications/${cert}/exemptions/confirm?q=smith&reason=Again`);
    expect(none.status).toBe(400);
    expect(mainText(none.text)).toContain('No learners to exempt match this filter');
  });

  it('ends many exemptions set-based in chunks by the scheduled end', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await learner(`Many${i}`));
    const cert = await certification(
      'Many',
      ids.map((id) => ({ id, dueInDays: 100 })),
    );
    await admin.post(`/certifications/${cert}/exemptions`, { q: 'many', reason: 'Batch', endsOn: today() });
    const result = await t.app.get(ExemptionsService).endDue(inDays(2));
    expect(result).toEqual({ ended: 5, assigned: 5, messages: 5 });
    expect(
      (await one(`select count(*)::int as n from membership where certification_id = $1 and exception_status = 'none'`, [cert])).n,
    ).toBe(5);
  });
});
