import type { PoolClient } from 'pg';
import { createExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { FINISHED, sleep, waitForState } from '../support/bulk';
import { formatDate } from '../../src/common/view-helpers';

/**
 * One learner's exception handled from their page, the actions on it read back, and handled
 * exceptions reopened, one from the learner page or all of a bulk action's from its page.
 */
describe('handling one learner, the history of actions, and reopening', () => {
  let t: TestApp;
  let admin: TestClient;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', undefined, 'Ada Lovelace');
    admin = await t.signedIn('ada');
  });
  afterAll(() => t.close());

  const finished = (id: number) => waitForState(t.db, id, FINISHED, 30000, () => '');
  const bulkIdOf = (location: string) => Number(/\/admin\/bulk-actions\/(\d+)$/.exec(location)![1]);

  async function oneLearner(prefix: string, type = 'time_allowance') {
    const f = await createExceptionFixture(t.db, { prefix, counts: { [type]: 1 } });
    const exceptionId = f.exceptionIds[type][0];
    const {
      rows: [row],
    } = await t.db.query(`select learner_id, membership_id from exception where id = $1`, [exceptionId]);
    return {
      certificationId: f.certificationId,
      exceptionId,
      learnerId: row.learner_id as number,
      membershipId: row.membership_id as number,
    };
  }

  /** Continue on the learner page's form, then OK on the confirmation page; returns the bulk action id. */
  async function handleOnLearnerPage(learnerId: number, exceptionId: number, action: string, reason = '') {
    const cont = await admin.post(`/learners/${learnerId}/exceptions/${exceptionId}/handle`, { action, reason });
    expect(cont.status).toBe(303);
    const confirmUrl = cont.headers.location;
    const page = await admin.get(confirmUrl);
    expect(mainText(page.text)).toContain('This will affect 1 learner');
    const ok = await admin.post(confirmUrl.split('?')[0], {});
    expect(ok.status).toBe(303);
    const id = bulkIdOf(ok.headers.location);
    expect((await finished(id)).state).toBe('completed');
    return id;
  }

  async function reopenOnLearnerPage(learnerId: number, exceptionId: number, reason = '') {
    const cont = await admin.post(`/learners/${learnerId}/exceptions/${exceptionId}/reopen`, { reason });
    expect(cont.status).toBe(303);
    const confirmUrl = cont.headers.location;
    const page = await admin.get(confirmUrl);
    expect(page.status).toBe(200);
    expect(mainText(page.text)).toContain('Confirm: Reopen exception');
    expect(mainText(page.text)).toContain('This will affect 1 learner');
    const ok = await admin.post(confirmUrl.split('?')[0], {});
    const id = bulkIdOf(ok.headers.location);
    return { id, row: await finished(id) };
  }

  const membership = async (id: number) =>
    (await t.db.query(`select exception_status, due_at, assigned_at, completion_recorded from membership where id = $1`, [id])).rows[0];

  it('links each learner in the Exception report to their page, which shows the open exception, its evidence and the actions that fit it', async () => {
    const l = await oneLearner('LP', 'completion_time_unknown');
    const report = await admin.get(`/certifications/${l.certificationId}/exceptions`);
    expect(report.text).toContain(`href="/learners/${l.learnerId}"`);
    const page = await admin.get(`/learners/${l.learnerId}`);
    const text = mainText(page.text);
    expect(text).toContain('Open exception in Cert LP certification');
    expect(text).toContain('Completion time unknown');
    expect(text).toContain('completion_time_unknown evidence');
    // The action/type matrix: Assign does not fit completion time unknown.
    expect(page.text).toContain('>Set realistic due date and assign</option>');
    expect(page.text).not.toContain('>Assign</option>');
    // The rules are the report's: a misfitting action posted anyway is refused, nothing changes.
    const refused = await admin.post(`/learners/${l.learnerId}/exceptions/${l.exceptionId}/handle`, { action: 'assign' });
    expect(refused.status).toBe(400);
    expect(mainText(refused.text)).toContain('Assign cannot be applied to 1 completion time unknown issue');
    expect(refused.text).toContain(`href="#action-${l.exceptionId}"`);
    expect((await t.db.query(`select count(*)::int as n from bulk_action_draft`)).rows[0].n).toBe(0);
    // Another learner's exception is not reachable through this learner's page.
    const other = await oneLearner('LQ');
    expect((await admin.post(`/learners/${l.learnerId}/exceptions/${other.exceptionId}/handle`, { action: 'assign' })).status).toBe(404);
  });

  it('handles one learner through the confirmation page and a bulk action, and lists the action in their history', async () => {
    const l = await oneLearner('LH');
    const before = await membership(l.membershipId);
    const bulkId = await handleOnLearnerPage(l.learnerId, l.exceptionId, 'assign_realistic', 'Joined late');
    const after = await membership(l.membershipId);
    expect(after.exception_status).toBe('assigned_realistic');
    expect(after.due_at.getTime()).toBeGreaterThan(before.due_at.getTime());

    const page = await admin.get(`/learners/${l.learnerId}`);
    const text = mainText(page.text);
    expect(text).toContain('Actions on exceptions in Cert LH certification');
    expect(text).toContain('Ada Lovelace Set realistic due date and assign Open → Assigned with realistic due date Joined late');
    expect(text).toContain(`${formatDate(before.due_at, 'UTC')} → ${formatDate(after.due_at, 'UTC')}`);
    expect(page.text).toContain(`href="/admin/bulk-actions/${bulkId}"`);
    expect(text).toContain('Reopen exception');
  });

  it.each([
    ['assign', 'assigned'],
    ['assign_realistic', 'assigned_realistic'],
    ['do_not_assign', 'not_assigned'],
    ['dismiss', 'dismissed'],
  ])('reopens an exception handled with %s: Open again, the membership as it was, audited, back in the report', async (action, status) => {
    const l = await oneLearner(`R${status.slice(0, 3).toUpperCase()}${action.length}`);
    const before = await membership(l.membershipId);
    await handleOnLearnerPage(l.learnerId, l.exceptionId, action);
    expect((await membership(l.membershipId)).exception_status).toBe(status);

    const { row } = await reopenOnLearnerPage(l.learnerId, l.exceptionId, 'Chosen by mistake');
    expect(row).toMatchObject({ state: 'completed', applied: 1, failed: 0 });
    expect(await membership(l.membershipId)).toEqual({ ...before, completion_recorded: true });
    const {
      rows: [exception],
    } = await t.db.query(`select status, handled_at, handled_by, reason, bulk_action_id from exception where id = $1`, [l.exceptionId]);
    expect(exception).toEqual({ status: 'open', handled_at: null, handled_by: null, reason: null, bulk_action_id: null });
    const audits = await t.db.query(
      `select action, status_before, status_after, reason from exception_audit where exception_id = $1 order by id`,
      [l.exceptionId],
    );
    expect(audits.rows).toEqual([
      { action, status_before: 'open', status_after: status, reason: null },
      { action: 'reopen', status_before: status, status_after: 'open', reason: 'Chosen by mistake' },
    ]);
    const report = mainText((await admin.get(`/certifications/${l.certificationId}/exceptions`)).text);
    expect(report).toContain('1 open exception');
    const page = mainText((await admin.get(`/learners/${l.learnerId}`)).text);
    expect(page).toContain('Open exception in');
    expect(page).toContain('→ Open Chosen by mistake');
  });

  it('records completion again after a reopened Dismiss: the Completion report shows the exception pending, not Completion not recorded', async () => {
    const l = await oneLearner('RD');
    await handleOnLearnerPage(l.learnerId, l.exceptionId, 'dismiss');
    expect((await membership(l.membershipId)).completion_recorded).toBe(false);
    await reopenOnLearnerPage(l.learnerId, l.exceptionId);
    expect((await membership(l.membershipId)).completion_recorded).toBe(true);
    const completion = mainText((await admin.get(`/certifications/${l.certificationId}/completion`)).text);
    expect(completion).toContain('Exception pending: 1 Not assigned: 0 Completion not recorded: 0');
    expect(completion).toContain('RD000001 Exception pending');
  });

  it('restores only the due date the action changed: a later due date given since is kept', async () => {
    const l = await oneLearner('RL');
    await handleOnLearnerPage(l.learnerId, l.exceptionId, 'assign_realistic');
    const later = new Date(Date.now() + 400 * 86400_000);
    await t.db.query(`update membership set due_at = $2 where id = $1`, [l.membershipId, later]);
    await reopenOnLearnerPage(l.learnerId, l.exceptionId);
    expect((await membership(l.membershipId)).due_at.getTime()).toBe(later.getTime());
  });

  it('never sends a learner message twice: Assign, reopen, Assign again writes each message once', async () => {
    const l = await oneLearner('RM');
    await handleOnLearnerPage(l.learnerId, l.exceptionId, 'assign');
    const keys = async () =>
      (await t.db.query(`select message_key from outbox where membership_id = $1 order by message_key`, [l.membershipId])).rows.map(
        (r) => r.message_key,
      );
    const first = await keys();
    expect(first).toContain(`enrolment:${l.membershipId}:1`);
    await reopenOnLearnerPage(l.learnerId, l.exceptionId);
    expect(await keys()).toEqual(first);
    await handleOnLearnerPage(l.learnerId, l.exceptionId, 'assign');
    expect(await keys()).toEqual(first);
  });

  it('refuses to reopen, saying why, where the learner has since certified or left the certification', async () => {
    const certified = await oneLearner('RC');
    await handleOnLearnerPage(certified.learnerId, certified.exceptionId, 'assign');
    await t.db.query(`update membership set state = 'certified', certified_at = now() where id = $1`, [certified.membershipId]);
    const page = mainText((await admin.get(`/learners/${certified.learnerId}`)).text);
    expect(page).toContain('This exception cannot be reopened: The learner has certified since.');
    const refused = await admin.post(`/learners/${certified.learnerId}/exceptions/${certified.exceptionId}/reopen`, {});
    expect(refused.status).toBe(400);
    expect(mainText(refused.text)).toContain('This cannot be reopened. The learner has certified since.');
    expect(
      (
        await t.db.query(`select count(*)::int as n from bulk_action where action = 'reopen' and certification_id = $1`, [
          certified.certificationId,
        ])
      ).rows[0].n,
    ).toBe(0);
  });

  it('reopens all the exceptions a bulk action handled from its page, per learner refusing those who certified or left since', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'RB', counts: { time_allowance: 5 } });
    const ids = f.exceptionIds.time_allowance;
    const cont = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, {
      select: 'all',
      action: 'do_not_assign',
      reason: 'Contractors',
    });
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    const handledBy = bulkIdOf(ok.headers.location);
    expect((await finished(handledBy)).state).toBe('completed');
    const members = (await t.db.query(`select membership_id from exception where id = any($1::bigint[]) order by id`, [ids])).rows.map(
      (r) => r.membership_id,
    );
    await t.db.query(`update membership set state = 'certified', certified_at = now() where id = $1`, [members[0]]);
    await t.db.query(`update membership set removed_at = now() where id = $1`, [members[1]]);

    const show = await admin.get(`/admin/bulk-actions/${handledBy}`);
    expect(mainText(show.text)).toContain('Reopen these exceptions');
    const start = await admin.post(`/admin/bulk-actions/${handledBy}/reopen`, { reason: 'Wrong audience' });
    expect(start.status).toBe(303);
    const confirm = mainText((await admin.get(start.headers.location)).text);
    expect(confirm).toContain('This will affect 3 learners');
    expect(confirm).toContain('1 learner will not be reopened: The learner has certified since');
    expect(confirm).toContain('1 learner will not be reopened: The learner has left the certification');
    expect(confirm).toContain(`The exceptions bulk action ${handledBy} handled (Do not assign)`);
    const okReopen = await admin.post(start.headers.location.split('?')[0], {});
    const reopenId = bulkIdOf(okReopen.headers.location);
    expect(await finished(reopenId)).toMatchObject({ state: 'completed_with_failures', total: 5, applied: 3, failed: 2 });
    const result = mainText((await admin.get(`/admin/bulk-actions/${reopenId}`)).text);
    expect(result).toContain('The learner has certified since');
    expect(result).toContain('The learner has left the certification');
    expect(result).not.toContain('Reopen these exceptions');
    const statuses = (await t.db.query(`select status from exception where id = any($1::bigint[]) order by id`, [ids])).rows.map(
      (r) => r.status,
    );
    expect(statuses).toEqual(['not_assigned', 'not_assigned', 'open', 'open', 'open']);
    // Reopening the same action again: nothing left that can be reopened.
    const again = await admin.post(`/admin/bulk-actions/${handledBy}/reopen`, {});
    expect(again.status).toBe(409);
    expect(mainText(again.text)).toContain('This cannot be reopened.');
  });

  it('answers a confirmation page older than an hour with a clear page and a link back, and changes nothing', async () => {
    const l = await oneLearner('RX');
    const cont = await admin.post(`/learners/${l.learnerId}/exceptions/${l.exceptionId}/handle`, { action: 'assign' });
    const confirmUrl = cont.headers.location;
    await t.db.query(`update bulk_action_draft set created_at = now() - interval '61 minutes'`);
    const page = await admin.get(confirmUrl);
    expect(page.status).toBe(410);
    expect(mainText(page.text)).toContain('This confirmation has expired');
    expect(page.text).toContain(`href="/learners/${l.learnerId}"`);
    const ok = await admin.post(confirmUrl.split('?')[0], {});
    expect(ok.status).toBe(410);
    expect(
      (await t.db.query(`select count(*)::int as n from bulk_action where certification_id = $1`, [l.certificationId])).rows[0].n,
    ).toBe(0);
  });

  it('takes the lock of the chunks and of membership sync when OK is pressed', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'RK', counts: { time_allowance: 3 } });
    const cont = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'all', action: 'assign' });
    const confirmUrl = cont.headers.location.split('?')[0];
    await admin.get(confirmUrl);
    const holder: PoolClient = await t.db.connect();
    try {
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(7301, $1)', [f.certificationId]);
      const pressed = admin.post(confirmUrl, {});
      for (;;) {
        const { rows } = await t.db.query(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and objid = $1`,
          [f.certificationId],
        );
        if (rows[0].n > 0) break;
        await sleep(20);
      }
      expect(
        (await t.db.query(`select count(*)::int as n from bulk_action where certification_id = $1`, [f.certificationId])).rows[0].n,
      ).toBe(0);
      await holder.query('rollback');
      const ok = await pressed;
      expect(ok.status).toBe(303);
      expect((await finished(bulkIdOf(ok.headers.location))).applied).toBe(3);
    } finally {
      holder.release();
    }
  });

  it('says on the report when a bulk action of this certification is queued or running, with a link to it', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'RQ', counts: { time_allowance: 2 } });
    const staff = (await t.db.query(`select id from staff where username = 'ada'`)).rows[0].id;
    const {
      rows: [b],
    } = await t.db.query(
      `insert into bulk_action (certification_id, action, selection_label, created_by, state, total, processed)
       values ($1, 'assign', 'All learners', $2, 'running', 2000, 500) returning id`,
      [f.certificationId, staff],
    );
    const report = await admin.get(`/certifications/${f.certificationId}/exceptions`);
    expect(mainText(report.text)).toContain('Assign (All learners) is running: 500 of 2,000 learners processed. See bulk action');
    expect(report.text).toContain(`href="/admin/bulk-actions/${b.id}"`);
    await t.db.query(`update bulk_action set state = 'completed' where id = $1`, [b.id]);
    expect(mainText((await admin.get(`/certifications/${f.certificationId}/exceptions`)).text)).not.toContain('is running');
  });
});
