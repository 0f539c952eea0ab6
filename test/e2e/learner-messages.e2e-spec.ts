import { BULK_ACTIONS_QUEUE, LEARNER_MESSAGES_QUEUE, SWEEP_JOB, SWEEP_SCHEDULE } from '../../src/jobs/queues';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { EntityManager } from '@mikro-orm/postgresql';
import { LearnerMessagesProcessor } from '../../src/notifications/learner-messages.processor';
import { LearnerMessagesService } from '../../src/notifications/learner-messages.service';
import { fillPlaceholders, fillPlaceholdersSql, PLACEHOLDERS, PlaceholderName } from '../../src/notifications/placeholders';
import { createExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';
import { bulkJobIdOf } from '../support/bulk';
import { outboxHtmlSql } from '../../src/notifications/outbox-sql';

const DAY = 86400000;

interface MemberOptions {
  first?: string;
  last?: string;
  dueInDays?: number | null;
  exceptionStatus?: string;
  assigned?: boolean;
  suspended?: boolean;
}

describe('learner messages: the sweep', () => {
  let t: TestApp;
  let admin: TestClient;
  let sweeper: LearnerMessagesService;
  let learnerSeq = 0;
  const sweep = (now: Date = new Date()) => sweeper.sweep(now);

  beforeAll(async () => {
    // Small chunks, so that the sweep's chunking by membership id is exercised too.
    t = await startTestApp({ BULK_CHUNK_SIZE: '3' });
    await t.createStaff('ada', 'admin');
    admin = await t.signedIn('ada');
    sweeper = t.app.get(LearnerMessagesService);
  });
  afterAll(() => t.close());

  async function certification(name: string): Promise<number> {
    const { rows } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ($1, $2, 1, 'year', 1, 'month') returning id`,
      [name, name.slice(0, 20) + learnerSeq++],
    );
    return rows[0].id;
  }

  async function member(certificationId: number, options: MemberOptions = {}): Promise<number> {
    const n = ++learnerSeq;
    const { rows } = await t.db.query(
      `with l as (
         insert into learner (id_number, username, first_name, last_name, email, suspended)
         values ($1::text, $1::text, $2, $3, $1::text || '@example.org', $4) returning id)
       insert into membership (certification_id, learner_id, due_at, assigned_at, exception_status)
       select $5, l.id, case when $6::int is null then null else now() + make_interval(days => $6::int) end,
              case when $7 then now() end, $8 from l
       returning id`,
      [
        `lm${n}`,
        options.first ?? 'Pat',
        options.last ?? `Learner${n}`,
        options.suspended ?? false,
        certificationId,
        options.dueInDays === undefined ? 60 : options.dueInDays,
        options.assigned ?? true,
        options.exceptionStatus ?? 'none',
      ],
    );
    return rows[0].id;
  }

  async function outbox(membershipIds: number[]) {
    const { rows } = await t.db.query(
      `select message_key, kind, to_address, to_name, subject, body_text, body_html as stored_html, ${outboxHtmlSql('outbox').text} as body_html,
              state, message_id, membership_id, certification_id
         from outbox where membership_id = any($1::int[]) order by id`,
      [membershipIds],
    );
    return rows;
  }
  const keys = async (membershipIds: number[]) => (await outbox(membershipIds)).map((r) => r.message_key).sort();

  it('creates the eight default messages for every certification, whoever made it', async () => {
    const a = await certification('Defaults A');
    const b = await certification('Defaults B');
    await sweep();
    const { rows } = await t.db.query(
      `select certification_id, count(*)::int as n, bool_and(enabled) as enabled,
              max(offset_days) filter (where kind = 'due_soon') as due_soon, max(offset_days) filter (where kind = 'window_closing') as closing
         from message_template where certification_id = any($1::int[]) group by 1 order by 1`,
      [[a, b]],
    );
    expect(rows).toEqual([
      { certification_id: a, n: 8, enabled: true, due_soon: 14, closing: 7 },
      { certification_id: b, n: 8, enabled: true, due_soon: 14, closing: 7 },
    ]);
  });

  it('sends each message at its moment, once per membership and cycle, with the placeholders filled', async () => {
    const c = await certification('Fire Safety');
    const m = await member(c, { first: 'Zoë', last: "O'Neil <b>", dueInDays: 60 });
    const now = Date.now();

    expect((await sweep(new Date(now))).written).toEqual({ enrolment: 1 });
    const [enrolment] = await outbox([m]);
    expect(enrolment).toMatchObject({
      message_key: `enrolment:${m}:1`,
      kind: 'enrolment',
      to_address: expect.stringMatching(/^lm\d+@example\.org$/),
      to_name: "Zoë O'Neil <b>",
      subject: 'You have been enrolled in Fire Safety',
      state: 'kept',
      certification_id: c,
    });
    expect(enrolment.message_id).toMatch(/^<[0-9a-f]{32}@localhost>$/);
    const due = (await t.db.query('select due_at from membership where id = $1', [m])).rows[0].due_at as Date;
    const dueText = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(due);
    expect(enrolment.body_text).toContain(
      `Dear Zoë,\n\nYou have been enrolled in the certification Fire Safety. Please complete it by ${dueText}.`,
    );
    expect(enrolment.body_text).toContain(`You can find the courses at ${t.config.publicOrigin}/`);
    expect(enrolment.body_html).toContain('<p>Dear Zoë,</p><p>You have been enrolled');

    // Due soon: 14 days before the due date, not a day earlier.
    expect((await sweep(new Date(now + 45 * DAY))).total).toBe(0);
    expect((await sweep(new Date(now + 47 * DAY))).written).toEqual({ due_soon: 1 });
    expect((await sweep(new Date(now + 59 * DAY))).total).toBe(0);
    expect((await sweep(new Date(now + 61 * DAY))).written).toEqual({ overdue: 1 });
    expect((await sweep(new Date(now + 62 * DAY))).total).toBe(0);

    // Certified, then the window opens (next cycle), closes in 7 days, and the certification expires.
    await t.db.query(
      `update membership set state = 'certified', certified_at = now(), expires_at = now() + interval '365 days',
              window_opens_at = now() + interval '335 days' where id = $1`,
      [m],
    );
    expect((await sweep(new Date(now))).written).toEqual({ certified: 1 });
    await t.db.query(
      `update membership set state = 'window_open', cycle = 2, current_path = 'recertification', due_at = expires_at where id = $1`,
      [m],
    );
    expect((await sweep(new Date(now))).written).toEqual({ window_open: 1 });
    expect((await sweep(new Date(now + 357 * DAY))).total).toBe(0);
    expect((await sweep(new Date(now + 359 * DAY))).written).toEqual({ window_closing: 1 });
    await t.db.query(`update membership set state = 'expired', current_path = 'certification' where id = $1`, [m]);
    expect((await sweep(new Date(now + 366 * DAY))).written).toEqual({ failed_to_recertify: 1 });
    await t.db.query(`update membership set removed_at = now() where id = $1`, [m]);
    expect((await sweep(new Date(now))).written).toEqual({ unenrolment: 1 });

    // Everything again: nothing new.
    expect((await sweep(new Date(now + 400 * DAY))).total).toBe(0);
    expect(await keys([m])).toEqual(
      [
        `certified:${m}:1`,
        `due_soon:${m}:1`,
        `enrolment:${m}:1`,
        `failed_to_recertify:${m}:2`,
        `overdue:${m}:1`,
        `unenrolment:${m}`,
        `window_closing:${m}:2`,
        `window_open:${m}:2`,
      ].sort(),
    );
    const rows = await outbox([m]);
    expect(rows.find((r) => r.kind === 'certified').body_text).toMatch(/Your certification expires on \d{1,2} [A-Z][a-z]+ \d{4}\./);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(8);
  });

  it('sends nothing to open exceptions, Not assigned, Dismissed, unassigned or suspended learners, nor a removed learner who was never assigned', async () => {
    const c = await certification('Excluded');
    const ids = [
      await member(c, { dueInDays: -3, exceptionStatus: 'open', assigned: false }),
      await member(c, { dueInDays: -3, exceptionStatus: 'not_assigned', assigned: false }),
      await member(c, { dueInDays: -3, exceptionStatus: 'dismissed' }),
      await member(c, { dueInDays: -3, suspended: true }),
      await member(c, { dueInDays: -3, assigned: false }),
    ];
    const removed = await member(c, { exceptionStatus: 'open', assigned: false });
    await t.db.query(`update membership set removed_at = now() where id = $1`, [removed]);
    // Removed long ago (history), before messages existed: no unenrolment message now.
    const oldRemoval = await member(c);
    await t.db.query(`update membership set removed_at = now() - interval '8 days' where id = $1`, [oldRemoval]);
    const control = await member(c, { dueInDays: -3, exceptionStatus: 'assigned_realistic' });
    await sweep();
    expect(await keys([...ids, removed, oldRemoval])).toEqual([]);
    expect(await keys([control])).toEqual([`due_soon:${control}:1`, `enrolment:${control}:1`, `overdue:${control}:1`]);
  });

  it('sends nothing for a message that is switched off, and uses an edited subject, body and offset', async () => {
    const c = await certification('Edited');
    await admin.get(`/certifications/${c}/messages`);
    let res = await admin.post(`/certifications/${c}/messages/enrolment`, { subject: 'Welcome', body: 'Hello' });
    expect(res.status).toBe(303);
    res = await admin.post(`/certifications/${c}/messages/due_soon`, {
      enabled: 'yes',
      subject: 'Hi {learner_full_name}: {certification_name} by {due_date}',
      body: 'Dear {learner_first_name},\n\n{certification_name} & more <now>.\n{link}',
      offsetDays: '30',
    });
    expect(res.status).toBe(303);
    const m = await member(c, { first: 'Ann', last: 'Lee', dueInDays: 29 });
    const result = await sweep();
    expect(result.written).toEqual({ due_soon: 1 });
    const [row] = await outbox([m]);
    const due = (await t.db.query('select due_at from membership where id = $1', [m])).rows[0].due_at as Date;
    const dueText = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(due);
    expect(row.subject).toBe(`Hi Ann Lee: Edited by ${dueText}`);
    const link = `${t.config.publicOrigin}/`;
    expect(row.body_text).toBe(`Dear Ann,\n\nEdited & more <now>.\n${link}`);
    expect(row.stored_html).toBeNull();
    expect(row.body_html).toContain(`<p>Dear Ann,</p><p>Edited &amp; more &lt;now&gt;.<br><a href="${link}">${link}</a></p>`);
    // The SQL fill and the page's fill agree.
    const template = 'Dear {learner_first_name},\n\n{certification_name} & more <now>.\n{link}';
    expect(row.body_text).toBe(fillPlaceholders(template, { learner_first_name: 'Ann', certification_name: 'Edited', link }));
    // 31 days before: not yet.
    const m2 = await member(c, { dueInDays: 31 });
    expect((await sweep()).total).toBe(0);
    expect(await keys([m2])).toEqual([]);
  });

  it('keeps line breaks out of headers, and never sends to an address that is not one plain mailbox', async () => {
    const c = await certification('Headers');
    const m = await member(c, { first: 'Eve\r\nBcc: x@evil.example', last: 'Line\u2028Break' });
    const bad = await member(c);
    await t.db.query(
      `update learner set email = 'a@example.org, b@example.org' where id = (select learner_id from membership where id = $1)`,
      [bad],
    );
    await sweep();
    const [good] = await outbox([m]);
    expect(good.to_name).toBe('Eve Bcc: x@evil.example Line Break');
    expect(good.subject).toBe('You have been enrolled in Headers');
    expect(good.state).toBe('kept');
    expect(good.body_text).toContain('Dear Eve\r\nBcc: x@evil.example,');
    expect(good.body_html).toContain('Dear Eve<br>Bcc: x@evil.example,');
    const [refused] = await t.db.query('select state, last_error from outbox where membership_id = $1', [bad]).then((r) => r.rows);
    expect(refused).toEqual({ state: 'failed', last_error: 'Not sent: the address is not a single valid email address.' });
  });

  it('fills placeholders in one pass, in SQL as in TypeScript', async () => {
    const cases: Array<[string, Record<string, string>]> = [
      [
        '{learner_full_name} / {certification_name} {unknown} {link',
        { learner_full_name: '{certification_name}', certification_name: 'X' },
      ],
      ['{{due_date}} {due_date}{due_date}', { due_date: '1 May 2027' }],
      ['no placeholders', {}],
      [
        '{link}{link} {learner_first_name}',
        { link: 'https://x/{link}', learner_first_name: '{learner_full_name}', learner_full_name: 'NO' },
      ],
    ];
    const fromJson = Object.fromEntries(PLACEHOLDERS.map((p) => [p.name, `($2::jsonb ->> '${p.name}')`])) as Record<
      PlaceholderName,
      string
    >;
    for (const [template, values] of cases) {
      const { rows } = await t.db.query(`select ${fillPlaceholdersSql('$1::text', fromJson)} as text`, [template, JSON.stringify(values)]);
      expect(rows[0].text).toBe(fillPlaceholders(template, values));
    }
  });

  it('catch-up after Assign on the exception report: Enrolment plus the Due soon / Overdue whose moment passed, once each; nothing for Do not assign or Dismiss', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'CU', counts: { time_allowance: 4, duplicate_course: 2, unknown: 1 } });
    const [assignSoon, assignOverdue, suspended, stillOpen] = f.exceptionIds.time_allowance;
    const membershipOf = async (exceptionId: number) =>
      Number((await t.db.query('select membership_id from exception where id = $1', [exceptionId])).rows[0].membership_id);
    const mSoon = await membershipOf(assignSoon);
    const mOverdue = await membershipOf(assignOverdue);
    const mSuspended = await membershipOf(suspended);
    const mOpen = await membershipOf(stillOpen);
    const [mDismissed, mNotAssigned] = await Promise.all(f.exceptionIds.duplicate_course.map(membershipOf));
    await t.db.query(`update membership set due_at = now() - interval '2 days' where id = $1`, [mOverdue]);
    await t.db.query(`update learner set suspended = true where id = (select learner_id from membership where id = $1)`, [mSuspended]);

    // Before anything is handled, the sweep sends none of them anything.
    await sweep();
    const all = [mSoon, mOverdue, mSuspended, mOpen, mDismissed, mNotAssigned];
    expect(await keys(all)).toEqual([]);

    await bulk(f.certificationId, { select: 'none', ids: [assignSoon, assignOverdue, suspended].map(String), action: 'assign' });
    await bulk(f.certificationId, { select: 'none', ids: [String(f.exceptionIds.duplicate_course[0])], action: 'dismiss' });
    await bulk(f.certificationId, { select: 'none', ids: [String(f.exceptionIds.duplicate_course[1])], action: 'do_not_assign' });

    // The bulk action's own run wrote them; the next sweep finds nothing more to send.
    expect(await keys([mSoon])).toEqual([`due_soon:${mSoon}:1`, `enrolment:${mSoon}:1`]);
    expect(await keys([mOverdue])).toEqual([`due_soon:${mOverdue}:1`, `enrolment:${mOverdue}:1`, `overdue:${mOverdue}:1`]);
    expect(await keys([mSuspended, mOpen, mDismissed, mNotAssigned])).toEqual([]);
    expect((await sweep()).total).toBe(0);
    expect((await outbox([mSoon, mOverdue])).every((r) => r.state === 'kept')).toBe(true);
  });

  it('catch-up after Set realistic due date and assign: Enrolment now, Due soon when its moment comes', async () => {
    const f = await createExceptionFixture(t.db, {
      prefix: 'RL',
      counts: { completion_time_unknown: 1 },
      certificationMinDays: 21,
      bufferDays: 7,
    });
    const [exceptionId] = f.exceptionIds.completion_time_unknown;
    const m = Number((await t.db.query('select membership_id from exception where id = $1', [exceptionId])).rows[0].membership_id);
    await bulk(f.certificationId, { select: 'all', action: 'assign_realistic' });
    await sweep();
    expect(await keys([m])).toEqual([`enrolment:${m}:1`]);
    await sweep(new Date(Date.now() + 15 * DAY));
    expect(await keys([m])).toEqual([`due_soon:${m}:1`, `enrolment:${m}:1`]);
  });

  it('writes the due messages of given memberships inside the caller’s transaction (for Assign), rolled back with it', async () => {
    const c = await certification('In transaction');
    const a = await member(c, { dueInDays: -1, exceptionStatus: 'open', assigned: false });
    const b = await member(c, { dueInDays: 40, exceptionStatus: 'open', assigned: false });
    const em = t.app.get(EntityManager);
    const assign = (ids: number[]) => async (tem: EntityManager) => {
      await tem
        .getConnection()
        .execute(
          `update membership set exception_status = 'assigned', assigned_at = now() where id = any(?::int[])`,
          [`{${ids.join(',')}}`],
          'run',
          tem.getTransactionContext(),
        );
      return sweeper.writeDueFor(tem, ids);
    };
    await expect(
      em.fork().transactional(async (tem) => {
        await assign([a])(tem);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await keys([a])).toEqual([]);
    expect(await em.fork().transactional(assign([a, b]))).toBe(4);
    expect(await keys([a, b])).toEqual([`due_soon:${a}:1`, `enrolment:${a}:1`, `enrolment:${b}:1`, `overdue:${a}:1`]);
    expect((await sweep()).total).toBe(0);
  });

  it('runs the sweep as a worker job, and schedules it every five minutes', async () => {
    const c = await certification('Worker');
    const m = await member(c, { dueInDays: 100 });
    const queue = t.app.get<Queue>(getQueueToken(LEARNER_MESSAGES_QUEUE));
    const job = await queue.add(SWEEP_JOB, {});
    const result = await job.finished();
    expect(result.written).toEqual({ enrolment: 1 });
    expect(await keys([m])).toEqual([`enrolment:${m}:1`]);
    await t.app.get(LearnerMessagesProcessor).schedule();
    const repeatable = await queue.getRepeatableJobs();
    expect(repeatable.map((r) => [r.name, Number(r.every)])).toEqual([[SWEEP_JOB, SWEEP_SCHEDULE.everyMs]]);
    await queue.removeRepeatableByKey(repeatable[0].key);
  });

  /** Continue → confirmation → OK through the pages, then wait for the bulk action to finish. */
  async function bulk(certificationId: number, fields: Record<string, string | string[]>) {
    const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, fields);
    expect(cont.status).toBe(303);
    const confirmUrl = cont.headers.location.split('?')[0];
    const ok = await admin.post(confirmUrl, {});
    expect(ok.status).toBe(303);
    const id = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    // The job ends after its catch-up messages are written.
    await (await t.app.get<Queue>(getQueueToken(BULK_ACTIONS_QUEUE)).getJob(await bulkJobIdOf(t.db, id)))!.finished();
    expect((await t.db.query('select state from bulk_action where id = $1', [id])).rows[0].state).toBe('completed');
  }
});
