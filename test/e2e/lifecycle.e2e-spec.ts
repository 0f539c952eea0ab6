import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { JobRequests } from '../../src/jobs/job-requests.service';
import { LIFECYCLE_QUEUE, STEPS_SCHEDULE } from '../../src/jobs/queues';
import { LifecycleProcessor } from '../../src/lifecycle/lifecycle.processor';
import { LifecycleService } from '../../src/lifecycle/lifecycle.service';
import { startTestApp, TestApp } from '../support/app';

describe('certification lifecycle (DOMAIN.md §6)', () => {
  let t: TestApp;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const all = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows;
  const iso = (d: Date | null) => (d ? d.toISOString() : null);

  async function learner(): Promise<number> {
    seq++;
    return (
      await one(`insert into learner (id_number, username, first_name, last_name, email) values ($1, $2, 'Lea', $3, $4) returning id`, [
        `L${seq}`,
        `lu${seq}`,
        `Learner${seq}`,
        `lu${seq}@example.org`,
      ])
    ).id;
  }

  async function courses(n: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      ids.push((await one(`insert into course (short_name, full_name) values ($1, $1) returning id`, [`C${++seq}`])).id);
    }
    return ids;
  }

  async function certification(base: 'completion' | 'expiry' = 'completion'): Promise<number> {
    return (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, recertification_base)
         values ($1, $1, 1, 'year', 1, 'month', $2) returning id`,
        [`Cert ${++seq}`, base],
      )
    ).id;
  }

  /** Course sets of one path, in order: [rule, joiner to the next, course ids]. */
  async function path(certificationId: number, pathName: string, sets: Array<[string, string, number[]]>) {
    for (let i = 0; i < sets.length; i++) {
      const [rule, joiner, courseIds] = sets[i];
      const set = await one(
        `insert into course_set (certification_id, path, position, name, completion_rule, joiner) values ($1, $2, $3, $4, $5, $6) returning id`,
        [certificationId, pathName, i + 1, `Set ${i + 1}`, rule, joiner],
      );
      for (const c of courseIds) await t.db.query(`insert into course_set_course values ($1, $2)`, [set.id, c]);
    }
  }

  async function member(certificationId: number, learnerId: number, fields: Record<string, unknown> = {}): Promise<number> {
    const all = { assigned_at: new Date(), ...fields };
    const names = ['certification_id', 'learner_id', ...Object.keys(all)];
    const values = [certificationId, learnerId, ...Object.values(all)];
    const row = await one(
      `insert into membership (${names.join(', ')}) values (${names.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
      values,
    );
    return row.id;
  }

  async function complete(learnerId: number, courseId: number, at: string) {
    await t.db.query(`insert into course_completion (learner_id, course_id, completed_at, source) values ($1, $2, $3, 'admin')`, [
      learnerId,
      courseId,
      at,
    ]);
  }

  // runSteps works on every membership of the database: the tests look at their own rows only.
  const check = (learnerIds: number[] | null) => t.app.get(LifecycleService).completionCheck(learnerIds);
  const steps = (now: string) => t.app.get(LifecycleService).runSteps(new Date(now));
  const row = (id: number) => one(`select * from membership where id = $1`, [id]);
  const history = (id: number) =>
    all(`select cycle, path, state, event from membership_history where membership_id = $1 order by id`, [id]);

  it('certifies when every course of an "all" set is complete, dated by the latest completion', async () => {
    const cert = await certification();
    const [a, b] = await courses(2);
    await path(cert, 'certification', [['all', 'and', [a, b]]]);
    const l = await learner();
    const m = await member(cert, l);
    await complete(l, a, '2026-01-31T10:00:00Z');
    expect((await check([l])).certified).toBe(0);
    expect((await row(m)).state).toBe('not_certified');

    await complete(l, b, '2026-02-10T10:00:00Z');
    expect(await check([l])).toEqual({ certified: 1, membershipIds: [m] });
    const after = await row(m);
    expect(after.state).toBe('certified');
    expect(iso(after.certified_at)).toBe('2026-02-10T10:00:00.000Z');
    expect(iso(after.expires_at)).toBe('2027-02-10T10:00:00.000Z');
    expect(iso(after.window_opens_at)).toBe('2027-01-10T10:00:00.000Z');
    expect(await history(m)).toEqual([{ cycle: 1, path: 'certification', state: 'certified', event: 'certified' }]);
    // a second check changes nothing
    expect((await check(null)).membershipIds).not.toContain(m);
  });

  it('clamps the window opening at a month end (31 Mar expiry − 1 month = 28 Feb)', async () => {
    const cert = await certification();
    const [a] = await courses(1);
    await path(cert, 'certification', [['all', 'and', [a]]]);
    const l = await learner();
    const m = await member(cert, l);
    await complete(l, a, '2026-03-31T00:00:00Z');
    await check([l]);
    const after = await row(m);
    expect(iso(after.expires_at)).toBe('2027-03-31T00:00:00.000Z');
    expect(iso(after.window_opens_at)).toBe('2027-02-28T00:00:00.000Z');
  });

  it('needs one course of an "any" set', async () => {
    const cert = await certification();
    const [a, b, c] = await courses(3);
    await path(cert, 'certification', [['any', 'and', [a, b, c]]]);
    const l = await learner();
    const m = await member(cert, l);
    await complete(l, b, '2026-05-01T00:00:00Z');
    await check([l]);
    expect((await row(m)).state).toBe('certified');
  });

  it('treats sets joined by OR as alternatives, and AND/THEN as all required', async () => {
    const cert = await certification();
    const [a, b, c, d] = await courses(4);
    // (A or B) and C then D
    await path(cert, 'certification', [
      ['all', 'or', [a]],
      ['all', 'and', [b]],
      ['all', 'then', [c]],
      ['all', 'and', [d]],
    ]);
    const onlyA = await learner();
    const bcd = await learner();
    const acNoD = await learner();
    const mOnlyA = await member(cert, onlyA);
    const mBcd = await member(cert, bcd);
    const mAc = await member(cert, acNoD);
    await complete(onlyA, a, '2026-01-01T00:00:00Z');
    for (const course of [b, c, d]) await complete(bcd, course, '2026-01-02T00:00:00Z');
    await complete(acNoD, a, '2026-01-01T00:00:00Z');
    await complete(acNoD, c, '2026-01-01T00:00:00Z');
    await check(null);
    expect((await row(mOnlyA)).state).toBe('not_certified');
    expect((await row(mBcd)).state).toBe('certified');
    expect((await row(mAc)).state).toBe('not_certified');
    await complete(acNoD, d, '2026-01-03T00:00:00Z');
    await check([acNoD]);
    expect((await row(mAc)).state).toBe('certified');
    expect(iso((await row(mAc)).certified_at)).toBe('2026-01-03T00:00:00.000Z');
  });

  it('never certifies a dismissed membership (completion not recorded), nor processes an open or not-assigned one', async () => {
    const cert = await certification();
    const [a] = await courses(1);
    await path(cert, 'certification', [['all', 'and', [a]]]);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ exception_status: 'dismissed', completion_recorded: false }, 'not_certified'],
      [{ exception_status: 'none', completion_recorded: false }, 'not_certified'],
      [{ exception_status: 'dismissed' }, 'not_certified'],
      [{ exception_status: 'open', assigned_at: null }, 'not_certified'],
      [{ exception_status: 'not_assigned', assigned_at: null }, 'not_certified'],
      [{ exception_status: 'assigned' }, 'certified'],
      [{ exception_status: 'assigned_realistic' }, 'certified'],
    ];
    const ids: number[] = [];
    for (const [fields] of cases) {
      const l = await learner();
      ids.push(await member(cert, l, fields));
      await complete(l, a, '2026-04-01T00:00:00Z');
    }
    await check(null);
    for (let i = 0; i < cases.length; i++) expect([i, (await row(ids[i])).state]).toEqual([i, cases[i][1]]);
  });

  it('counts any earlier completion for a first certification', async () => {
    const cert = await certification();
    const [a] = await courses(1);
    await path(cert, 'certification', [['all', 'and', [a]]]);
    const l = await learner();
    await complete(l, a, '2019-06-01T00:00:00Z');
    const m = await member(cert, l);
    await check([l]);
    expect(iso((await row(m)).certified_at)).toBe('2019-06-01T00:00:00.000Z');
  });

  it('opens the window once: recertification path, progress reset, next cycle, history kept', async () => {
    const cert = await certification();
    const [first, refresher] = await courses(2);
    await path(cert, 'certification', [['all', 'and', [first]]]);
    await path(cert, 'recertification', [['all', 'and', [refresher]]]);
    const l = await learner();
    const m = await member(cert, l);
    await complete(l, first, '2025-01-10T00:00:00Z');
    await complete(l, refresher, '2025-06-01T00:00:00Z');
    await check([l]);
    expect(iso((await row(m)).window_opens_at)).toBe('2025-12-10T00:00:00.000Z');

    await steps('2025-12-09T23:59:00Z');
    expect((await row(m)).state).toBe('certified');
    expect((await steps('2025-12-10T00:00:00Z')).windowOpened).toBeGreaterThanOrEqual(1);
    const w = await row(m);
    expect([w.state, w.current_path, w.cycle, iso(w.path_started_at), iso(w.due_at)]).toEqual([
      'window_open',
      'recertification',
      2,
      '2025-12-10T00:00:00.000Z',
      '2026-01-10T00:00:00.000Z',
    ]);
    // each step once: a repeated run changes nothing
    await steps('2025-12-11T00:00:00Z');
    expect((await row(m)).cycle).toBe(2);
    expect(iso((await row(m)).path_started_at)).toBe('2025-12-10T00:00:00.000Z');
    expect(await history(m)).toEqual([
      { cycle: 1, path: 'certification', state: 'certified', event: 'certified' },
      { cycle: 2, path: 'recertification', state: 'window_open', event: 'window_opened' },
    ]);
    // progress reset: the refresher done before the window opened does not count
    await check([l]);
    expect((await row(m)).state).toBe('window_open');
  });

  it('recertifies inside the window from the previous expiry when the base is expiry', async () => {
    const cert = await certification('expiry');
    const [a] = await courses(1);
    await path(cert, 'recertification', [['all', 'and', [a]]]);
    const l = await learner();
    const m = await member(cert, l, {
      state: 'window_open',
      current_path: 'recertification',
      cycle: 2,
      path_started_at: '2025-12-10T00:00:00Z',
      certified_at: '2025-01-10T00:00:00Z',
      expires_at: '2026-01-10T00:00:00Z',
      window_opens_at: '2025-12-10T00:00:00Z',
    });
    await complete(l, a, '2025-12-20T00:00:00Z');
    await check([l]);
    const after = await row(m);
    expect([after.state, iso(after.certified_at), iso(after.expires_at), iso(after.window_opens_at)]).toEqual([
      'certified',
      '2025-12-20T00:00:00.000Z',
      '2027-01-10T00:00:00.000Z',
      '2026-12-10T00:00:00.000Z',
    ]);
    expect(await history(m)).toEqual([{ cycle: 2, path: 'recertification', state: 'certified', event: 'certified' }]);
  });

  it('recertifies from the completion date when the base is completion', async () => {
    const cert = await certification('completion');
    const [a] = await courses(1);
    await path(cert, 'recertification', [['all', 'and', [a]]]);
    const l = await learner();
    const m = await member(cert, l, {
      state: 'window_open',
      current_path: 'recertification',
      cycle: 2,
      path_started_at: '2025-12-10T00:00:00Z',
      certified_at: '2025-01-10T00:00:00Z',
      expires_at: '2026-01-10T00:00:00Z',
      window_opens_at: '2025-12-10T00:00:00Z',
    });
    await complete(l, a, '2025-12-20T00:00:00Z');
    await check([l]);
    expect(iso((await row(m)).expires_at)).toBe('2026-12-20T00:00:00.000Z');
  });

  it('expires once, back to the certification path, where only completions after the expiry count', async () => {
    const cert = await certification('expiry');
    const [first, refresher] = await courses(2);
    await path(cert, 'certification', [['all', 'and', [first]]]);
    await path(cert, 'recertification', [['all', 'and', [refresher]]]);
    const l = await learner();
    const m = await member(cert, l, {
      state: 'window_open',
      current_path: 'recertification',
      cycle: 2,
      path_started_at: '2025-12-10T00:00:00Z',
      certified_at: '2025-01-10T00:00:00Z',
      expires_at: '2026-01-10T00:00:00Z',
      window_opens_at: '2025-12-10T00:00:00Z',
    });
    await complete(l, first, '2025-01-10T00:00:00Z');
    await steps('2026-01-09T23:59:00Z');
    expect((await row(m)).state).toBe('window_open');
    expect((await steps('2026-01-10T00:00:00Z')).expired).toBeGreaterThanOrEqual(1);
    const e = await row(m);
    expect([e.state, e.current_path, iso(e.path_started_at), e.cycle]).toEqual(['expired', 'certification', '2026-01-10T00:00:00.000Z', 2]);
    await steps('2026-02-01T00:00:00Z');
    expect(iso((await row(m)).path_started_at)).toBe('2026-01-10T00:00:00.000Z');
    expect(await history(m)).toEqual([{ cycle: 2, path: 'certification', state: 'expired', event: 'expired' }]);

    // the old completion of the certification path does not count after the expiry
    await check([l]);
    expect((await row(m)).state).toBe('expired');
    await complete(l, first, '2026-02-01T00:00:00Z');
    await check([l]);
    const again = await row(m);
    // outside the window: the base is the completion date even with "expiry" chosen
    expect([again.state, iso(again.expires_at)]).toEqual(['certified', '2027-02-01T00:00:00.000Z']);
  });

  it('applies both steps in one run when a certified membership is past its window and its expiry', async () => {
    const cert = await certification();
    const l = await learner();
    const m = await member(cert, l, {
      state: 'certified',
      certified_at: '2024-01-01T00:00:00Z',
      expires_at: '2025-01-01T00:00:00Z',
      window_opens_at: '2024-12-01T00:00:00Z',
    });
    const untouched = await member(cert, await learner(), { state: 'not_certified' });
    await steps('2026-01-01T00:00:00Z');
    expect((await history(m)).map((h) => h.event)).toEqual(['window_opened', 'expired']);
    expect((await row(m)).state).toBe('expired');
    expect((await row(untouched)).state).toBe('not_certified');
  });

  it('certifies through the real queue after requestCompletionCheck', async () => {
    const cert = await certification();
    const [a] = await courses(1);
    await path(cert, 'certification', [['all', 'and', [a]]]);
    const l = await learner();
    const m = await member(cert, l);
    await complete(l, a, '2026-03-01T00:00:00Z');
    await t.app.get(JobRequests).requestCompletionCheck([l], 'completion recorded');
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && (await row(m)).state !== 'certified') await new Promise((r) => setTimeout(r, 100));
    expect((await row(m)).state).toBe('certified');
  });

  it('schedules the lifecycle steps as a repeatable job', async () => {
    const queue = t.app.get<Queue>(getQueueToken(LIFECYCLE_QUEUE));
    await t.app.get(LifecycleProcessor).schedule();
    const scheduled = (await queue.getRepeatableJobs()).find((job) => job.id === STEPS_SCHEDULE.id);
    expect(scheduled?.name).toBe('steps');
    expect(Number(scheduled?.every)).toBe(600000);
    await queue.removeRepeatableByKey(scheduled!.key);
  });
});
