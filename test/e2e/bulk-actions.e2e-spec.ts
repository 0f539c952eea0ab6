import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { BulkActionsService } from '../../src/exceptions/bulk-actions.service';
import { BulkActionDraftsService, Prepared } from '../../src/exceptions/bulk-action-drafts.service';
import { BULK_ACTIONS_QUEUE, BULK_APPLY_JOB, bulkJobId } from '../../src/jobs/queues';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';

async function waitForFinish(t: TestApp, bulkActionId: number, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.db.query('select * from bulk_action where id = $1', [bulkActionId]);
    if (['completed', 'completed_with_failures', 'failed'].includes(rows[0].state)) return rows[0];
    if (Date.now() > deadline) throw new Error(`bulk action ${bulkActionId} still ${rows[0].state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Continue → confirmation page → OK, as a person would; returns the bulk action id. */
async function act(client: TestClient, certificationId: number, fields: Record<string, string | string[]>) {
  const cont = await client.post(`/certifications/${certificationId}/exceptions/bulk`, fields);
  expect(cont.status).toBe(303);
  const confirmUrl = cont.headers.location;
  expect(confirmUrl).toMatch(/\/exceptions\/confirm\/[0-9a-f-]{36}/);
  const page = await client.get(confirmUrl);
  expect(page.status).toBe(200);
  const ok = await client.post(confirmUrl.split('?')[0], {});
  expect(ok.status).toBe(303);
  const id = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
  return { id, confirmUrl, confirmPage: page.text };
}

describe('bulk actions on exceptions', () => {
  let t: TestApp;
  let admin: TestClient;
  let adminId: number;

  beforeAll(async () => {
    t = await startTestApp();
    adminId = await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
  });
  afterAll(() => t.close());

  async function fixture(prefix: string, counts: Record<string, number>): Promise<ExceptionFixture> {
    return createExceptionFixture(t.db, { prefix, shortName: `Cert ${prefix}`, counts });
  }

  async function openCount(certificationId: number) {
    return Number(
      (await t.db.query(`select count(*) from exception where certification_id = $1 and status = 'open'`, [certificationId])).rows[0].count,
    );
  }

  it('Assign: exception Assigned (overridden), membership assigned now with its due date unchanged, one audit row each', async () => {
    const f = await fixture('AS', { time_allowance: 3, duplicate_course: 2 });
    const ids = f.exceptionIds.time_allowance.slice(0, 2);
    const before = await t.db.query(
      'select m.id, m.due_at from membership m join exception e on e.membership_id = m.id where e.id = any($1)',
      [ids],
    );
    const { id, confirmPage } = await act(admin, f.certificationId, {
      select: 'none',
      ids: ids.map(String),
      action: 'assign',
      reason: 'Manager agreed',
    });
    expect(mainText(confirmPage)).toContain('This will affect 2 learners');
    const done = await waitForFinish(t, id);
    expect(done).toMatchObject({ state: 'completed', total: 2, processed: 2, applied: 2, already_handled: 0, failed: 0 });

    const exceptions = await t.db.query('select status, handled_by, reason, bulk_action_id, handled_at from exception where id = any($1)', [
      ids,
    ]);
    for (const e of exceptions.rows) {
      expect(e).toMatchObject({ status: 'assigned', handled_by: adminId, reason: 'Manager agreed', bulk_action_id: String(id) });
      expect(Date.now() - e.handled_at.getTime()).toBeLessThan(60000);
    }
    const memberships = await t.db.query('select id, due_at, exception_status, assigned_at from membership where id = any($1)', [
      before.rows.map((r) => r.id),
    ]);
    for (const m of memberships.rows) {
      expect(m.exception_status).toBe('assigned');
      expect(Date.now() - m.assigned_at.getTime()).toBeLessThan(60000);
      expect(m.due_at.getTime()).toBe(before.rows.find((b) => b.id === m.id).due_at.getTime());
    }
    const audit = await t.db.query('select * from exception_audit where bulk_action_id = $1 order by exception_id', [id]);
    expect(audit.rows).toHaveLength(2);
    for (const row of audit.rows) {
      expect(row).toMatchObject({
        action: 'assign',
        reason: 'Manager agreed',
        staff_id: adminId,
        status_before: 'open',
        status_after: 'assigned',
      });
      expect(row.due_after.getTime()).toBe(row.due_before.getTime());
    }
    // Handled exceptions leave the report; the others stay.
    const report = await admin.get(`/certifications/${f.certificationId}/exceptions`);
    expect(report.text).not.toContain(`value="${ids[0]}"`);
    expect(await openCount(f.certificationId)).toBe(3);
  });

  it('Set realistic due date and assign: due date = now + the path’s total minimum time + the buffer', async () => {
    const f = await fixture('RD', { completion_time_unknown: 3, time_allowance: 2 });
    await t.db.query('update certification set certification_min_days = 30, realistic_buffer_days = 5 where id = $1', [f.certificationId]);
    const { id, confirmPage } = await act(admin, f.certificationId, { select: 'completion_time_unknown', action: 'assign_realistic' });
    expect(mainText(confirmPage)).toContain('This will affect 3 learners');
    expect(mainText(confirmPage)).toContain('New due dates of the first learners');
    await waitForFinish(t, id);
    const rows = await t.db.query(
      `select m.due_at, m.exception_status, m.assigned_at, e.status from exception e join membership m on m.id = e.membership_id where e.id = any($1)`,
      [f.exceptionIds.completion_time_unknown],
    );
    for (const row of rows.rows) {
      expect(row.status).toBe('assigned_realistic');
      expect(row.exception_status).toBe('assigned_realistic');
      expect(Math.abs(row.due_at.getTime() - (Date.now() + 35 * 86400000))).toBeLessThan(120000);
    }
    const audit = await t.db.query('select due_before, due_after from exception_audit where bulk_action_id = $1', [id]);
    expect(audit.rows).toHaveLength(3);
    for (const row of audit.rows) expect(row.due_after.getTime() - row.due_before.getTime()).toBeGreaterThan(29 * 86400000);
    expect(await openCount(f.certificationId)).toBe(2);
  });

  it('Do not assign: Not assigned, never assigned; Dismiss: Dismissed with completion not recorded', async () => {
    const f = await fixture('ND', { unknown: 2, duplicate_course: 2 });
    const first = await act(admin, f.certificationId, { select: 'unknown', action: 'do_not_assign' });
    await waitForFinish(t, first.id);
    const notAssigned = await t.db.query(
      `select e.status, m.exception_status, m.assigned_at from exception e join membership m on m.id = e.membership_id where e.id = any($1)`,
      [f.exceptionIds.unknown],
    );
    expect(notAssigned.rows).toEqual([
      { status: 'not_assigned', exception_status: 'not_assigned', assigned_at: null },
      { status: 'not_assigned', exception_status: 'not_assigned', assigned_at: null },
    ]);
    const second = await act(admin, f.certificationId, { select: 'all', action: 'dismiss', reason: 'Legacy record' });
    await waitForFinish(t, second.id);
    const dismissed = await t.db.query(
      `select e.status, e.reason, m.exception_status, m.completion_recorded from exception e join membership m on m.id = e.membership_id where e.id = any($1)`,
      [f.exceptionIds.duplicate_course],
    );
    for (const row of dismissed.rows) {
      expect(row).toEqual({ status: 'dismissed', reason: 'Legacy record', exception_status: 'dismissed', completion_recorded: false });
    }
    expect(await openCount(f.certificationId)).toBe(0);
    const empty = await admin.get(`/certifications/${f.certificationId}/exceptions`);
    expect(mainText(empty.text)).toContain('There are no open exceptions in this certification.');
  });

  it('refuses an action that does not fit a selected type, naming the types and counts, and changes nothing', async () => {
    const f = await fixture('MX', { time_allowance: 2, completion_time_unknown: 3, unknown: 1 });
    const drafts = Number((await t.db.query('select count(*) from bulk_action_draft')).rows[0].count);
    const res = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'all', action: 'assign' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: ');
    expect(mainText(res.text)).toContain(
      'Assign cannot be applied to 3 completion time unknown issues and 1 unknown issue in your selection.',
    );
    const realistic = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, {
      select: 'none',
      ids: [String(f.exceptionIds.unknown[0]), String(f.exceptionIds.time_allowance[0])],
      action: 'assign_realistic',
    });
    expect(mainText(realistic.text)).toContain('Set realistic due date and assign cannot be applied to 1 unknown issue');
    // The ticked rows stay ticked on the re-rendered form.
    expect(realistic.text).toContain(`value="${f.exceptionIds.unknown[0]}" id="ids-${f.exceptionIds.unknown[0]}" checked`);
    expect(Number((await t.db.query('select count(*) from bulk_action_draft')).rows[0].count)).toBe(drafts);
    expect(await openCount(f.certificationId)).toBe(6);
  });

  it('says exactly what is missing when nothing is selected or no action is chosen', async () => {
    const f = await fixture('NS', { time_allowance: 1 });
    const res = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'none', action: '' });
    expect(res.status).toBe(400);
    const text = mainText(res.text);
    expect(text).toContain('Select at least one learner, or choose who to select in Select');
    expect(text).toContain('Choose an action');
    expect(res.text).toContain('href="#select"');
    expect(res.text).toContain('href="#action"');
  });

  it('selects by condition across all pages honouring the search', async () => {
    const f = await fixture('SC', { time_allowance: 120, unknown: 3 });
    // SC000100–SC000123: 21 time allowance (100–120) and 3 unknown (121–123), across pages of 50.
    const { id, confirmPage } = await act(admin, f.certificationId, { select: 'all', action: 'do_not_assign', q: 'SC0001' });
    expect(mainText(confirmPage)).toContain('This will affect 24 learners');
    const done = await waitForFinish(t, id);
    expect(done.applied).toBe(24);
    const handled = await t.db.query(
      `select l.id_number from exception e join learner l on l.id = e.learner_id where e.certification_id = $1 and e.status = 'not_assigned' order by 1`,
      [f.certificationId],
    );
    expect(handled.rows.map((r) => r.id_number)).toEqual(Array.from({ length: 24 }, (_, i) => `SC000${100 + i}`));
    const typeOnly = await act(admin, f.certificationId, { select: 'time_allowance', action: 'assign' });
    expect(mainText(typeOnly.confirmPage)).toContain('This will affect 99 learners');
    expect((await waitForFinish(t, typeOnly.id)).applied).toBe(99);
    expect(await openCount(f.certificationId)).toBe(0);
  });

  it('makes one bulk action from a confirmation submitted twice', async () => {
    const f = await fixture('DS', { time_allowance: 4 });
    const cont = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'all', action: 'assign' });
    const confirmUrl = cont.headers.location.split('?')[0];
    const [one, two] = await Promise.all([admin.post(confirmUrl, {}), admin.post(confirmUrl, {})]);
    expect(one.status).toBe(303);
    expect(two.status).toBe(303);
    expect(one.headers.location).toBe(two.headers.location);
    const again = await admin.post(confirmUrl, {});
    expect(again.headers.location).toBe(one.headers.location);
    expect((await t.db.query('select count(*) from bulk_action where certification_id = $1', [f.certificationId])).rows[0].count).toBe('1');
  });

  it('lets the first of two bulk actions over the same exceptions win; the second reports them as already handled', async () => {
    const f = await fixture('CC', { time_allowance: 300 });
    const service = t.app.get(BulkActionsService);
    const drafts = t.app.get(BulkActionDraftsService);
    const all = { mode: 'condition', condition: 'all', filter: { q: '', type: null }, label: 'All learners' } as const;
    const tokenOf = (prepared: Prepared) => ('token' in prepared ? prepared.token : Promise.reject(new Error(prepared.error.message)));
    const draftA = await t.inContext(() => drafts.prepare(f.certificationId, adminId, 'assign', 'A', all).then(tokenOf));
    const draftB = await t.inContext(() => drafts.prepare(f.certificationId, adminId, 'do_not_assign', 'B', all).then(tokenOf));
    const [a, b] = await Promise.all([
      t.inContext(() => drafts.find(draftA, f.certificationId, adminId).then((d) => service.confirm(d!))),
      t.inContext(() => drafts.find(draftB, f.certificationId, adminId).then((d) => service.confirm(d!))),
    ]);
    const [doneA, doneB] = await Promise.all([waitForFinish(t, a), waitForFinish(t, b)]);
    expect(doneA.applied + doneB.applied).toBe(300);
    expect(doneA.already_handled + doneB.already_handled).toBe(doneA.total + doneB.total - 300);
    const audits = await t.db.query(
      `select count(*)::int as n, count(distinct exception_id)::int as d from exception_audit a join exception e on e.id = a.exception_id where e.certification_id = $1`,
      [f.certificationId],
    );
    expect(audits.rows[0]).toEqual({ n: 300, d: 300 });
    const statuses = await t.db.query(`select status, count(*)::int as n from exception where certification_id = $1 group by 1`, [
      f.certificationId,
    ]);
    expect(statuses.rows.reduce((n, r) => n + r.n, 0)).toBe(300);
    expect(statuses.rows.every((r) => r.status !== 'open')).toBe(true);
  });

  it('refuses ids that belong to another certification, and reports ticked rows handled meanwhile', async () => {
    const mine = await fixture('FA', { time_allowance: 2 });
    const other = await fixture('FB', { time_allowance: 1 });
    const res = await admin.post(`/certifications/${mine.certificationId}/exceptions/bulk`, {
      select: 'none',
      ids: [String(mine.exceptionIds.time_allowance[0]), String(other.exceptionIds.time_allowance[0])],
      action: 'dismiss',
    });
    expect(res.status).toBe(400);
    expect(mainText(res.text)).toContain('1 selected exception does not belong to this certification');
    expect(await openCount(other.certificationId)).toBe(1);

    await t.db.query(`update exception set status = 'dismissed' where id = $1`, [mine.exceptionIds.time_allowance[0]]);
    const { id, confirmPage } = await act(admin, mine.certificationId, {
      select: 'none',
      ids: mine.exceptionIds.time_allowance.map(String),
      action: 'assign',
    });
    expect(mainText(confirmPage)).toContain('This will affect 1 learner');
    expect(mainText(confirmPage)).toContain('1 ticked learner already handled will be skipped.');
    const done = await waitForFinish(t, id);
    expect(done).toMatchObject({ applied: 1, already_handled: 1, failed: 0, state: 'completed' });
  });

  it('reports learners that left the certification as failed, with why', async () => {
    const f = await fixture('RM', { time_allowance: 3 });
    const cont = await admin.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'all', action: 'assign' });
    await t.db.query(`update membership set removed_at = now() where id = (select membership_id from exception where id = $1)`, [
      f.exceptionIds.time_allowance[1],
    ]);
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    const id = Number(/(\d+)$/.exec(ok.headers.location)![1]);
    const done = await waitForFinish(t, id);
    expect(done).toMatchObject({ state: 'completed_with_failures', applied: 2, failed: 1 });
    const page = await admin.get(`/admin/bulk-actions/${id}`);
    const text = mainText(page.text);
    expect(text).toContain('State: Completed with failures');
    expect(text).toContain('Learners that failed');
    expect(text).toContain('The learner is no longer in this certification');
    expect(text).toContain('Back to exception report');
    expect(page.text).toContain('<title>Completed with failures 100%');
  });

  it('shows progress: state, processed / total, a progress bar, a status region, a no-JavaScript refresh that can be stopped', async () => {
    const f = await fixture('PG', { time_allowance: 2 });
    const [{ id }] = (
      await t.db.query(
        `insert into bulk_action (certification_id, action, selection_label, created_by, total, processed, state)
         values ($1, 'assign', 'All learners', $2, 10, 4, 'running') returning id`,
        [f.certificationId, adminId],
      )
    ).rows;
    const page = await admin.get(`/admin/bulk-actions/${id}`);
    expect(page.text).toContain('<title>Running 40% – Bulk action');
    expect(page.text).toMatch(/<progress[^>]*max="10" value="4"/);
    expect(page.text).toContain('role="status"');
    expect(page.text).toContain('<noscript><meta http-equiv="refresh" content="15"></noscript>');
    expect(mainText(page.text)).toContain('Stop refreshing');
    const stopped = await admin.get(`/admin/bulk-actions/${id}?refresh=off`);
    expect(stopped.text).not.toContain('http-equiv="refresh"');
    const status = await admin.agent.get(`/admin/bulk-actions/${id}/status`).set('Accept', 'application/json');
    expect(status.body).toMatchObject({ state: 'running', processed: 4, total: 10, percent: 40, finished: false });
    await t.db.query(`update bulk_action set state = 'failed', finished_at = now() where id = $1`, [id]);
    const list = await admin.get('/admin/bulk-actions');
    expect(mainText(list.text)).toContain('Assign');
  });

  it('carries on with a bulk action whose job Bull gave up on after it stalled too often', async () => {
    const f = await fixture('ST', { time_allowance: 5 });
    const queue = t.app.get<Queue>(getQueueToken(BULK_ACTIONS_QUEUE));
    await queue.pause(true);
    try {
      const [{ id, job_key }] = (
        await t.db.query(
          `insert into bulk_action (certification_id, action, selection_label, created_by, total, state, created_at)
           values ($1, 'assign', 'All learners', $2, 5, 'running', now() - interval '5 minutes') returning id, job_key`,
          [f.certificationId, adminId],
        )
      ).rows;
      await t.db.query(`insert into bulk_action_item (bulk_action_id, exception_id) select $1, unnest($2::bigint[])`, [
        id,
        f.exceptionIds.time_allowance,
      ]);
      await queue.add(BULK_APPLY_JOB, { bulkActionId: Number(id) }, { jobId: bulkJobId(job_key), attempts: 1 });
      // What Bull does to a job whose worker died too often: active, then failed without an attempt.
      const job = (await queue.getNextJob())!;
      expect(job.id).toBe(bulkJobId(job_key));
      await job.moveToFailed({ message: 'job stalled more than allowable limit' }, true);
      await job.releaseLock(); // a dead worker's lock has expired by then
      expect(await job.isFailed()).toBe(true);
      await queue.resume(true);
      expect(await t.inContext(() => t.app.get(BulkActionsService).requeueUnfinished())).toBeGreaterThanOrEqual(1);
      expect(await waitForFinish(t, Number(id))).toMatchObject({ state: 'completed', applied: 5 });
    } finally {
      await queue.resume(true);
    }
  });

  it('refuses bulk actions from a viewer and changes nothing', async () => {
    const f = await fixture('VW', { time_allowance: 1 });
    const viewer = await t.signedIn('vic');
    const res = await viewer.post(`/certifications/${f.certificationId}/exceptions/bulk`, { select: 'all', action: 'dismiss' });
    expect(res.status).toBe(403);
    expect(await openCount(f.certificationId)).toBe(1);
  });

  it('keeps the open exception counts exact through inserts, bulk actions, sync-like updates and deletes', async () => {
    const live = async () =>
      (
        await t.db.query(
          `select certification_id, type, count(*)::int as n from exception where status = 'open' group by 1, 2 order by 1, 2`,
        )
      ).rows;
    const kept = async () =>
      (await t.db.query(`select certification_id, type, n from exception_open_count where n <> 0 order by 1, 2`)).rows;
    const f = await fixture('OC', { time_allowance: 4, unknown: 2 });
    expect(await kept()).toEqual(await live());
    await t.db.query(`update exception set type = 'duplicate_course' where id = $1`, [f.exceptionIds.time_allowance[0]]);
    await t.db.query(`delete from exception where id = $1`, [f.exceptionIds.unknown[0]]);
    expect(await kept()).toEqual(await live());
    await t.db.query(`delete from certification where id = $1`, [f.certificationId]);
    expect(await kept()).toEqual(await live());
  });
});
