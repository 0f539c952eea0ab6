import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { CERTIFICATION_LOCK_CLASS } from '../../src/database/locks';
import { MembershipSyncProcessor } from '../../src/assignments/sync/membership-sync.processor';
import { JobRequests } from '../../src/jobs/job-requests.service';
import { MEMBERSHIP_SYNC_QUEUE, SYNC_SCHEDULE } from '../../src/jobs/queues';
import { addPeriod } from '../../src/lifecycle/period';
import { endOfDay, localDate, startOfDay } from '../../src/common/time-zone';
import { startTestApp, TestApp } from '../support/app';

const DAY = 24 * 3600 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * DAY);

describe('membership sync and exception detection (DOMAIN.md §2)', () => {
  let t: TestApp;
  let seq = 0;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const all = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows;

  async function learner(fields: { hire?: string | null; firstLogin?: Date | null } = {}): Promise<number> {
    seq++;
    const row = await one(
      `insert into learner (id_number, username, first_name, last_name, email, hire_date, first_login_at)
       values ($1, $2, 'Lea', $3, $4, $5, $6) returning id`,
      [`E${seq}`, `user${seq}`, `Learner${seq}`, `l${seq}@example.org`, fields.hire ?? null, fields.firstLogin ?? null],
    );
    return row.id;
  }

  async function course(shortName: string): Promise<number> {
    return (
      await one(`insert into course (short_name, full_name) values ($1, $2) returning id`, [`${shortName} ${++seq}`, `${shortName} (full)`])
    ).id;
  }

  async function certification(name: string, minDays = 0, courseIds: number[] = []): Promise<number> {
    const id = (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ($1, $2, 1, 'year', 1, 'month', $3, $3) returning id`,
        [name, `${name}-${++seq}`, minDays],
      )
    ).id;
    if (courseIds.length) {
      const set = await one(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set', 'all') returning id`,
        [id],
      );
      for (const c of courseIds) await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set.id, c]);
    }
    return id;
  }

  type Rule =
    { rule: 'none' } | { rule: 'fixed'; at: Date } | { rule: 'relative'; amount: number; unit: string; event: string; courseId?: number };

  async function assign(certificationId: number, target: { learner: number } | { audience: number }, due: Rule): Promise<number> {
    const kind = 'learner' in target ? 'learner' : 'audience';
    const row = await one(
      `insert into assignment (certification_id, kind, learner_id, audience_id, due_rule, due_fixed_at, due_amount, due_unit, due_event, due_course_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning id`,
      [
        certificationId,
        kind,
        'learner' in target ? target.learner : null,
        'audience' in target ? target.audience : null,
        due.rule,
        due.rule === 'fixed' ? due.at : null,
        due.rule === 'relative' ? due.amount : null,
        due.rule === 'relative' ? due.unit : null,
        due.rule === 'relative' ? due.event : null,
        due.rule === 'relative' ? (due.courseId ?? null) : null,
      ],
    );
    return row.id;
  }

  async function audience(learnerIds: number[]): Promise<number> {
    const id = (await one(`insert into audience (name) values ($1) returning id`, [`Audience ${++seq}`])).id;
    for (const l of learnerIds) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [id, l]);
    return id;
  }

  const sync = (certificationId: number) => t.app.get(MembershipSyncService).syncCertification(certificationId, 'test');
  const membership = (certificationId: number, learnerId: number) =>
    one(`select * from membership where certification_id = $1 and learner_id = $2 and removed_at is null`, [certificationId, learnerId]);
  const exceptions = (membershipId: number) => all(`select * from exception where membership_id = $1 order by id`, [membershipId]);

  it('gives a learner covered by several assignments the latest due date, and sources for each', async () => {
    const cert = await certification('Latest wins');
    const l = await learner({ hire: '2026-01-31' });
    const aud = await audience([l]);
    const direct = await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(100) });
    const viaAudience = await assign(cert, { audience: aud }, { rule: 'relative', amount: 2, unit: 'year', event: 'hire' });
    const result = await sync(cert);
    expect(result!.stats.added).toBe(1);
    const m = await membership(cert, l);
    // 31 Jan 2026 + 2 years (the end of that day, in the site's zone UTC) is later than 100 days from now
    expect(m.due_at.toISOString()).toBe('2028-01-31T23:59:59.999Z');
    expect(m.exception_status).toBe('none');
    expect(m.assigned_at).not.toBeNull();
    const sources = await all(`select assignment_id from membership_source where membership_id = $1 order by assignment_id`, [m.id]);
    expect(sources.map((s) => s.assignment_id)).toEqual([direct, viaAudience].sort((a, b) => a - b));
  });

  it('prefers a known date to an unknown one, and leaves no due date only when every rule is none', async () => {
    const cert = await certification('Known beats unknown', 10);
    const noHire = await learner();
    const aud = await audience([noHire]);
    await assign(cert, { audience: aud }, { rule: 'relative', amount: 3, unit: 'month', event: 'hire' });
    await assign(cert, { learner: noHire }, { rule: 'fixed', at: inDays(200) });
    const other = await learner();
    await assign(cert, { learner: other }, { rule: 'none' });
    await sync(cert);
    const m = await membership(cert, noHire);
    expect(Math.round((m.due_at.getTime() - Date.now()) / DAY)).toBe(200);
    expect(await exceptions(m.id)).toHaveLength(0);
    const none = await membership(cert, other);
    expect(none.due_at).toBeNull();
    expect(none.exception_status).toBe('none');
  });

  it('computes relative due dates from assignment, first login and course completion', async () => {
    const prereq = await course('Prerequisite');
    const cert = await certification('Relative rules');
    const a = await learner();
    const b = await learner({ firstLogin: new Date('2026-03-31T10:00:00Z') });
    const c = await learner();
    await t.db.query(
      `insert into course_completion (learner_id, course_id, completed_at, source) values ($1, $2, $3, 'admin'), ($1, $2, $4, 'admin')`,
      [c, prereq, '2026-01-31T08:00:00Z', '2026-05-31T08:00:00Z'],
    );
    await assign(cert, { learner: a }, { rule: 'relative', amount: 2, unit: 'week', event: 'assignment' });
    await assign(cert, { learner: b }, { rule: 'relative', amount: 1, unit: 'month', event: 'first_login' });
    await assign(cert, { learner: c }, { rule: 'relative', amount: 1, unit: 'month', event: 'course_completion', courseId: prereq });
    await sync(cert);
    const ma = await membership(cert, a);
    expect(ma.due_at.getTime()).toBe(addPeriod(ma.added_at, 2, 'week').getTime());
    expect((await membership(cert, b)).due_at.toISOString()).toBe('2026-04-30T10:00:00.000Z');
    // the latest completion counts; 31 May + 1 month = 30 Jun
    expect((await membership(cert, c)).due_at.toISOString()).toBe('2026-06-30T08:00:00.000Z');
    // an assignment-date rule keeps counting from when the learner was first covered
    await sync(cert);
    expect((await membership(cert, a)).due_at.getTime()).toBe(ma.due_at.getTime());
  });

  it('agrees with the TypeScript period arithmetic on month ends and leap years, due at the end of the day', async () => {
    const cert = await certification('Month ends');
    const cases: Array<[string, number, string]> = [
      ['2026-01-31', 1, 'month'],
      ['2028-02-29', 1, 'year'],
      ['2026-08-31', 6, 'month'],
      ['2026-12-30', 3, 'day'],
      ['2026-02-28', 2, 'week'],
    ];
    const ids: number[] = [];
    for (const [hire, amount, unit] of cases) {
      const l = await learner({ hire });
      ids.push(l);
      const aud = await audience([l]);
      await assign(cert, { audience: aud }, { rule: 'relative', amount, unit, event: 'hire' });
    }
    await sync(cert);
    for (let i = 0; i < cases.length; i++) {
      const [hire, amount, unit] = cases[i];
      const expected = endOfDay(localDate(addPeriod(startOfDay(hire, 'UTC'), amount, unit as any), 'UTC'), 'UTC');
      expect((await membership(cert, ids[i])).due_at.toISOString()).toBe(expected.toISOString());
    }
  });

  it('treats a first-login rule for a learner who never logged in as a future assignment', async () => {
    const cert = await certification('Future', 30);
    const l = await learner();
    await assign(cert, { learner: l }, { rule: 'relative', amount: 3, unit: 'month', event: 'first_login' });
    const result = await sync(cert);
    expect(result!.stats.added).toBe(0);
    expect(await all(`select id from membership where certification_id = $1`, [cert])).toHaveLength(0);
    expect(await all(`select id from exception where certification_id = $1`, [cert])).toHaveLength(0);

    await t.db.query(`update learner set first_login_at = '2026-11-01T09:00:00Z' where id = $1`, [l]);
    await sync(cert);
    const m = await membership(cert, l);
    expect(m.due_at.toISOString()).toBe('2027-02-01T09:00:00.000Z');
  });

  it('raises completion time unknown with the rule and the missing date', async () => {
    const prereq = await course('Induction');
    const cert = await certification('Unknown time', 10);
    const noHire = await learner();
    const notDone = await learner();
    await assign(cert, { learner: noHire }, { rule: 'relative', amount: 3, unit: 'month', event: 'hire' });
    await assign(cert, { learner: notDone }, { rule: 'relative', amount: 1, unit: 'week', event: 'course_completion', courseId: prereq });
    const result = await sync(cert);
    expect(result!.stats.exceptions_raised).toEqual({ completion_time_unknown: 2 });
    const m = await membership(cert, noHire);
    expect(m.exception_status).toBe('open');
    expect(m.assigned_at).toBeNull();
    expect(m.due_at).toBeNull();
    const [e] = await exceptions(m.id);
    expect(e).toMatchObject({ type: 'completion_time_unknown', status: 'open', summary: '3 months after hire date: no hire date' });
    expect(e.evidence).toEqual({ rule: '3 months after hire date', missing: 'no hire date' });
    const [e2] = await exceptions((await membership(cert, notDone)).id);
    expect(e2.summary).toBe('1 week after completing Induction (full): course not completed');
    const raised = await all(`select id from exception where sync_run_id = $1 order by id`, [result!.syncRunId]);
    expect(raised.map((r) => Number(r.id)).sort()).toEqual([Number(e.id), Number(e2.id)].sort());
  });

  it('raises time allowance with due date, minimum and shortfall', async () => {
    const cert = await certification('Short time', 21);
    const l = await learner();
    const due = new Date(Date.now() + 9.5 * DAY);
    await assign(cert, { learner: l }, { rule: 'fixed', at: due });
    const ok = await learner();
    await assign(cert, { learner: ok }, { rule: 'fixed', at: inDays(22) });
    await sync(cert);
    const m = await membership(cert, l);
    expect(m.exception_status).toBe('open');
    const [e] = await exceptions(m.id);
    const dueText = due.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
    expect(e.type).toBe('time_allowance');
    expect(e.summary).toBe(`Due ${dueText}: 9 days left, 21 needed (12 short)`);
    expect(e.evidence).toMatchObject({ minimumDays: 21, daysLeft: 9, shortfallDays: 12 });
    expect(new Date(e.evidence.dueAt).getTime()).toBe(due.getTime());
    const fine = await membership(cert, ok);
    expect(fine.exception_status).toBe('none');
    expect(await exceptions(fine.id)).toHaveLength(0);
  });

  it('checks duplicate course first, naming the other certification and the shared courses', async () => {
    const shared = await course('Fire safety');
    const own = await course('Ladders');
    const other = await certification('Building safety', 0, [shared]);
    const cert = await certification('Site work', 30, [shared, own]);
    const l = await learner();
    const notInOther = await learner();
    await assign(other, { learner: l }, { rule: 'none' });
    await sync(other);
    // both problems at once: a shared course AND too little time → duplicate course wins
    await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(3) });
    await assign(cert, { learner: notInOther }, { rule: 'fixed', at: inDays(3) });
    await sync(cert);
    const [e] = await exceptions((await membership(cert, l)).id);
    const sharedName = (await one(`select short_name from course where id = $1`, [shared])).short_name;
    expect(e.type).toBe('duplicate_course');
    expect(e.evidence).toEqual({
      otherCertificationId: other,
      otherCertificationName: 'Building safety',
      sharedCourses: [sharedName],
      sharedCourseNames: ['Fire safety (full)'],
    });
    expect(e.summary).toBe('Shares Fire safety (full) with «Building safety»');
    const [e2] = await exceptions((await membership(cert, notInOther)).id);
    expect(e2.type).toBe('time_allowance');
  });

  it('looks at the other membership’s current path only', async () => {
    const shared = await course('First aid');
    const other = await certification('Recert only', 0);
    const set = await one(
      `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'recertification', 1, 'R', 'all') returning id`,
      [other],
    );
    await t.db.query(`insert into course_set_course values ($1, $2)`, [set.id, shared]);
    const cert = await certification('Needs first aid', 0, [shared]);
    const l = await learner();
    await assign(other, { learner: l }, { rule: 'none' });
    await sync(other);
    await assign(cert, { learner: l }, { rule: 'none' });
    await sync(cert);
    expect((await membership(cert, l)).exception_status).toBe('none');
    // once the other membership is on its recertification path, the course is shared
    const l2 = await learner();
    await assign(other, { learner: l2 }, { rule: 'none' });
    await sync(other);
    await t.db.query(`update membership set current_path = 'recertification' where certification_id = $1 and learner_id = $2`, [other, l2]);
    await assign(cert, { learner: l2 }, { rule: 'none' });
    await sync(cert);
    expect((await membership(cert, l2)).exception_status).toBe('open');
  });

  it('keeps one open exception per membership: a second sync raises nothing', async () => {
    const cert = await certification('Twice', 30);
    const l = await learner();
    await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(5) });
    const first = await sync(cert);
    expect(first!.stats.exceptions_raised).toEqual({ time_allowance: 1 });
    const second = await sync(cert);
    expect(second!.stats).toMatchObject({ added: 0, removed: 0, due_updated: 0, rechecked: 0, exceptions_raised: {} });
    expect(await all(`select id from exception where sync_run_id = $1`, [second!.syncRunId])).toEqual([]);
    expect(await exceptions((await membership(cert, l)).id)).toHaveLength(1);
    const runs = await all(`select stats from sync_run where certification_id = $1 order by id`, [cert]);
    expect(runs).toHaveLength(2);
    expect(runs[0].stats).toMatchObject({ added: 1, exceptions_raised: { time_allowance: 1 } });
  });

  it('never reduces a due date', async () => {
    const cert = await certification('Never reduce');
    const l = await learner();
    const a = await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(300) });
    await sync(cert);
    const before = (await membership(cert, l)).due_at;
    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(100), a]);
    const result = await sync(cert);
    expect(result!.stats.due_updated).toBe(0);
    expect((await membership(cert, l)).due_at.getTime()).toBe(before.getTime());
  });

  it('re-checks an open exception when the due date grows: updated in place while short, resolved when not', async () => {
    const cert = await certification('Recheck open', 30);
    const l = await learner();
    const a = await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(5) });
    await sync(cert);
    const m = await membership(cert, l);
    const [raised] = await exceptions(m.id);

    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(20.5), a]);
    const grown = await sync(cert);
    expect(grown!.stats).toMatchObject({ due_updated: 1, rechecked: 1, exceptions_raised: {}, exceptions_updated: 1 });
    const [updated, ...none] = await exceptions(m.id);
    expect(none).toHaveLength(0);
    expect(updated.id).toBe(raised.id);
    expect(updated.status).toBe('open');
    expect(updated.evidence).toMatchObject({ daysLeft: 20, shortfallDays: 10 });

    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(60), a]);
    await sync(cert);
    const [resolved] = await exceptions(m.id);
    expect(resolved.status).toBe('resolved');
    expect(resolved.handled_at).not.toBeNull();
    const after = await membership(cert, l);
    expect(after.exception_status).toBe('none');
    expect(after.assigned_at).not.toBeNull();
  });

  it('re-checks a not-assigned membership when its due date grows: a new exception if still short, else assigned', async () => {
    const cert = await certification('Recheck not assigned', 30);
    const l1 = await learner();
    const l2 = await learner();
    const a1 = await assign(cert, { learner: l1 }, { rule: 'fixed', at: inDays(5) });
    const a2 = await assign(cert, { learner: l2 }, { rule: 'fixed', at: inDays(5) });
    await sync(cert);
    await t.db.query(
      `update exception set status = 'not_assigned', handled_at = now() where certification_id = $1;
       update membership set exception_status = 'not_assigned' where certification_id = $1`.replace(/\$1/g, String(cert)),
    );
    // no growth: nothing is re-checked
    await sync(cert);
    expect(await all(`select id from exception where certification_id = $1 and status = 'open'`, [cert])).toHaveLength(0);

    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(10), a1]);
    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(90), a2]);
    const result = await sync(cert);
    expect(result!.stats).toMatchObject({ rechecked: 2, exceptions_raised: { time_allowance: 1 } });
    const m1 = await membership(cert, l1);
    expect(m1.exception_status).toBe('open');
    expect((await exceptions(m1.id)).map((e) => e.status)).toEqual(['not_assigned', 'open']);
    const m2 = await membership(cert, l2);
    expect(m2.exception_status).toBe('none');
    expect(m2.assigned_at).not.toBeNull();
    expect((await exceptions(m2.id)).map((e) => e.status)).toEqual(['not_assigned']);
  });

  it('does not re-check certified, window-open or expired memberships, nor assigned or dismissed ones', async () => {
    const cert = await certification('No recheck', 30);
    const cases: Array<[string, string]> = [
      ['certified', 'not_assigned'],
      ['window_open', 'open'],
      ['expired', 'not_assigned'],
      ['not_certified', 'assigned'],
      ['not_certified', 'dismissed'],
    ];
    const learners: number[] = [];
    for (let i = 0; i < cases.length; i++) learners.push(await learner());
    const aud = await audience(learners);
    const a = await assign(cert, { audience: aud }, { rule: 'fixed', at: inDays(5) });
    await sync(cert);
    for (let i = 0; i < cases.length; i++) {
      const [state, status] = cases[i];
      await t.db.query(`update membership set state = $1, exception_status = $2 where certification_id = $3 and learner_id = $4`, [
        state,
        status,
        cert,
        learners[i],
      ]);
      if (status !== 'open') {
        await t.db.query(`update exception set status = $1, handled_at = now() where certification_id = $2 and learner_id = $3`, [
          status,
          cert,
          learners[i],
        ]);
      }
    }
    const before = await all(`select id, type, summary, status from exception where certification_id = $1 order by id`, [cert]);
    await t.db.query(`update assignment set due_fixed_at = $1 where id = $2`, [inDays(90), a]);
    const result = await sync(cert);
    expect(result!.stats).toMatchObject({ due_updated: 5, rechecked: 0, exceptions_raised: {}, exceptions_resolved: 0 });
    expect(await all(`select id, type, summary, status from exception where certification_id = $1 order by id`, [cert])).toEqual(before);
    for (let i = 0; i < cases.length; i++) {
      const m = await membership(cert, learners[i]);
      expect([m.state, m.exception_status]).toEqual(cases[i]);
    }
  });

  it('never raises a handled exception again without a later due date', async () => {
    const cert = await certification('Handled', 30);
    const l = await learner();
    await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(5) });
    await sync(cert);
    await t.db.query(`update exception set status = 'dismissed', handled_at = now() where certification_id = $1`, [cert]);
    await t.db.query(`update membership set exception_status = 'dismissed', completion_recorded = false where certification_id = $1`, [
      cert,
    ]);
    const again = await sync(cert);
    expect(again!.stats.exceptions_raised).toEqual({});
    const m = await membership(cert, l);
    expect(m.exception_status).toBe('dismissed');
    expect((await exceptions(m.id)).map((e) => e.status)).toEqual(['dismissed']);
  });

  it('removes learners no longer covered (history kept) and gives a re-added learner a new membership', async () => {
    const cert = await certification('Leavers', 30);
    const stays = await learner();
    const leaves = await learner();
    const aud = await audience([stays, leaves]);
    await assign(cert, { audience: aud }, { rule: 'fixed', at: inDays(5) });
    await sync(cert);
    const old = await membership(cert, leaves);

    await t.db.query(`delete from audience_member where audience_id = $1 and learner_id = $2`, [aud, leaves]);
    const result = await sync(cert);
    expect(result!.stats.removed).toBe(1);
    const kept = await one(`select * from membership where id = $1`, [old.id]);
    expect(kept.removed_at).not.toBeNull();
    expect(await all(`select assignment_id from membership_source where membership_id = $1`, [old.id])).toHaveLength(1);
    expect((await exceptions(old.id)).map((e) => e.status)).toEqual(['resolved']);
    expect(await membership(cert, stays)).toBeTruthy();

    await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [aud, leaves]);
    await sync(cert);
    const fresh = await membership(cert, leaves);
    expect(fresh.id).not.toBe(old.id);
    expect(fresh.exception_status).toBe('open');
    expect(await all(`select id from membership where certification_id = $1 and learner_id = $2`, [cert, leaves])).toHaveLength(2);
  });

  it('drops a source when its assignment no longer covers the learner', async () => {
    const cert = await certification('Sources');
    const l = await learner();
    const aud = await audience([l]);
    await assign(cert, { learner: l }, { rule: 'none' });
    const viaAudience = await assign(cert, { audience: aud }, { rule: 'none' });
    await sync(cert);
    const m = await membership(cert, l);
    await t.db.query(`delete from audience_member where audience_id = $1`, [aud]);
    const result = await sync(cert);
    expect(result!.stats.sources_removed).toBe(1);
    const sources = await all(`select assignment_id from membership_source where membership_id = $1`, [m.id]);
    expect(sources.map((s) => s.assignment_id)).not.toContain(viaAudience);
    expect(sources).toHaveLength(1);
  });

  it('serialises two syncs of the same certification', async () => {
    const cert = await certification('Parallel', 30);
    const learners = [];
    for (let i = 0; i < 20; i++) learners.push(await learner());
    const aud = await audience(learners);
    await assign(cert, { audience: aud }, { rule: 'fixed', at: inDays(5) });
    // a sync waits while another transaction holds the certification's lock
    const blocker = await t.db.connect();
    await blocker.query('begin');
    await blocker.query('select pg_advisory_xact_lock($1, $2)', [CERTIFICATION_LOCK_CLASS, cert]);
    let finished = false;
    let waiting;
    try {
      waiting = sync(cert).then((result) => {
        finished = true;
        return result;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(finished).toBe(false);
      expect(await all(`select id from membership where certification_id = $1`, [cert])).toHaveLength(0);
    } finally {
      await blocker.query('commit');
      blocker.release();
    }
    expect((await waiting)!.stats.added).toBe(20);

    await t.db.query(`delete from membership where certification_id = $1`, [cert]);
    const [a, b] = await Promise.all([sync(cert), sync(cert)]);
    expect(a!.stats.added + b!.stats.added).toBe(20);
    expect(await all(`select id from membership where certification_id = $1`, [cert])).toHaveLength(20);
    expect(await all(`select id from exception where certification_id = $1`, [cert])).toHaveLength(20);
  });

  it('syncs every certification in syncAll', async () => {
    const c1 = await certification('All one');
    const c2 = await certification('All two');
    const l = await learner();
    await assign(c1, { learner: l }, { rule: 'none' });
    await assign(c2, { learner: l }, { rule: 'none' });
    const results = await t.app.get(MembershipSyncService).syncAll('test');
    expect(results.map((r) => r.stats.certificationId)).toEqual(expect.arrayContaining([c1, c2]));
    expect(await membership(c1, l)).toBeTruthy();
    expect(await membership(c2, l)).toBeTruthy();
  });

  it('runs through the real queue: requestSync, then the worker adds the memberships', async () => {
    const cert = await certification('Queued', 30);
    const l = await learner();
    await assign(cert, { learner: l }, { rule: 'fixed', at: inDays(5) });
    await t.app.get(JobRequests).requestSync(cert, 'assignment added');
    const deadline = Date.now() + 15000;
    let run;
    while (Date.now() < deadline) {
      run = await one(`select * from sync_run where certification_id = $1 and reason = 'assignment added' and finished_at is not null`, [
        cert,
      ]);
      if (run) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(run?.stats).toMatchObject({ added: 1, exceptions_raised: { time_allowance: 1 } });
    expect((await membership(cert, l)).exception_status).toBe('open');
  });

  it('schedules a repeatable full sync', async () => {
    const queue = t.app.get<Queue>(getQueueToken(MEMBERSHIP_SYNC_QUEUE));
    await t.app.get(MembershipSyncProcessor).schedule();
    const repeatable = await queue.getRepeatableJobs();
    const scheduled = repeatable.find((job) => job.id === SYNC_SCHEDULE.id);
    expect(scheduled?.name).toBe('sync');
    expect(Number(scheduled?.every)).toBe(3600000);
    await queue.removeRepeatableByKey(scheduled!.key);
  });
});
