import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { getQueueToken } from '@nestjs/bull';
import type { Queue } from 'bull';
import { AdminNoticeService, DueNoticesResult } from '../../src/notifications/admin-notice.service';
import { ADMIN_NOTICES_QUEUE, SEND_DUE_NOTICES_JOB } from '../../src/jobs/queues';
import { AdminNoticeProcessor } from '../../src/notifications/admin-notice.processor';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { outboxHtmlSql } from '../../src/notifications/outbox-sql';

const BASE_PATH = '/intranet/certex';

describe('the administrators’ notice of new exceptions', () => {
  let t: TestApp;
  let smtp: SMTPServer;
  let ada: TestClient;
  let viewer: TestClient;
  let sync: MembershipSyncService;
  let notices: AdminNoticeService;
  const staff: Record<string, number> = {};
  let seq = 0;

  beforeAll(async () => {
    // A real SMTP server, so that with SMTP_URL set the rows are for sending (the relay sends them).
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData: (stream, _session, done) => stream.resume().on('end', () => done()),
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as AddressInfo).port;
    t = await startTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}`, BASE_PATH, PUBLIC_URL: 'https://learn.example.org' });
    staff.ada = await t.createStaff('ada', 'admin', undefined, 'Ada Admin');
    staff.bob = await t.createStaff('bob', 'admin', undefined, 'Bob Optout');
    staff.dan = await t.createStaff('dan', 'admin', undefined, 'Dan Disabled');
    staff.eve = await t.createStaff('eve', 'admin', undefined, 'Eve Noaddress');
    staff.vic = await t.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
    await t.db.query(`update staff set email = username || '@example.org' where username <> 'eve'`);
    await t.db.query(`update staff set notify_exceptions = false where username = 'bob'`);
    await t.db.query(`update staff set disabled = true where username = 'dan'`);
    ada = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    sync = t.app.get(MembershipSyncService);
    notices = t.app.get(AdminNoticeService);
  });
  afterAll(async () => {
    await t.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  async function certification(name: string): Promise<number> {
    const { rows } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit, certification_min_days)
       values ($1, $2, 1, 'year', 1, 'month', 30) returning id`,
      [name, `N${++seq}`],
    );
    return rows[0].id;
  }

  /** Learners assigned so that sync raises exceptions: `tight` with too little time, `unknown` with no hire date. */
  async function assignLearners(certificationId: number, tight: number, unknown: number) {
    for (let i = 0; i < tight + unknown; i++) {
      const n = ++seq;
      const { rows } = await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email) values ($1::text, $1::text, 'Pat', $2, $1::text || '@example.org') returning id`,
        [`an${n}`, `Learner${n}`],
      );
      if (i < tight) {
        await t.db.query(
          `insert into assignment (certification_id, kind, learner_id, due_rule, due_fixed_at) values ($1, 'learner', $2, 'fixed', now() + interval '5 days')`,
          [certificationId, rows[0].id],
        );
      } else {
        await t.db.query(
          `insert into assignment (certification_id, kind, learner_id, due_rule, due_amount, due_unit, due_event) values ($1, 'learner', $2, 'relative', 3, 'month', 'hire')`,
          [certificationId, rows[0].id],
        );
      }
    }
  }

  /** What the sync processor does after each sync: sync, then the notice for the exceptions it raised. */
  /** The sync writes the notice itself, in its own transaction. */
  async function syncAndNotify(certificationId: number) {
    const result = await sync.syncCertification(certificationId, 'test');
    const raised = await t.db.query<{ id: string }>(`select id from exception where sync_run_id = $1 order by id`, [result!.syncRunId]);
    return { raised: raised.rows.map((r) => Number(r.id)), runId: result!.syncRunId, notice: result!.notice };
  }

  const notices_ = async (certificationId: number) =>
    (
      await t.db.query(
        `select o.*, ${outboxHtmlSql('o').text} as html, s.username
           from outbox o left join staff s on s.id = o.staff_id where o.kind = 'admin_exceptions' and o.certification_id = $1 order by o.id`,
        [certificationId],
      )
    ).rows;

  it('emails each opted-in active administrator with an address: the counts by type and a working link to the exception report', async () => {
    const c = await certification('Fire Safety');
    await assignLearners(c, 2, 1);
    const { raised, notice } = await syncAndNotify(c);
    expect(raised).toHaveLength(3);
    expect(notice).toMatchObject({ sent: 1 });

    const rows = await notices_(c);
    expect(rows.map((r) => r.username)).toEqual(['ada']);
    const [row] = rows;
    expect(row).toMatchObject({
      to_address: 'ada@example.org',
      to_name: 'Ada Admin',
      subject: 'Exceptions require attention in certification «Fire Safety»',
    });
    expect(row.state).not.toBe('kept');
    expect(['pending', 'sending', 'sent']).toContain(row.state);
    expect(row.message_id).toMatch(/^<[0-9a-f]{32}@localhost>$/);
    expect(row.body_text).toContain('The certification «Fire Safety» has 3 new exceptions.\n');
    expect(row.body_text).toContain('Open exceptions (3):\nTime allowance: 2\nCompletion time unknown: 1\n');
    expect(row.body_text).not.toContain('Duplicate course');
    const link = `https://learn.example.org${BASE_PATH}/certifications/${c}/exceptions`;
    expect(row.body_text).toContain(link);
    expect(row.html).toContain(`<a href="${link}">${link}</a>`);

    const page = await ada.get(new URL(link).pathname);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Exception report – Fire Safety – Certex</title>');
    expect(mainText(page.text)).toContain('Time allowance');
    expect(mainText(page.text)).toContain('Completion time unknown');
  });

  it('sends no second notice within the interval; the next one, after it, tells the exceptions raised meanwhile too', async () => {
    const c = await certification('Manual Handling');
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toMatchObject({ sent: 1 });
    await assignLearners(c, 1, 0);
    const second = await syncAndNotify(c);
    expect(second.raised).toHaveLength(1);
    expect(second.notice).toEqual({ sent: 0, deferred: 'interval' });
    expect(await notices_(c)).toHaveLength(1);

    // 61 minutes later (the default interval is 60), a run that raises exceptions notifies again,
    // of its own exception and of the one raised inside the interval.
    await t.db.query(`update admin_notice set sent_at = sent_at - interval '61 minutes' where certification_id = $1`, [c]);
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toMatchObject({ sent: 1 });
    const rows = await notices_(c);
    expect(rows).toHaveLength(2);
    expect(rows[1].body_text).toContain('The certification «Manual Handling» has 2 new exceptions since the last notice.\n');
    expect(rows[1].body_text).toContain('Open exceptions (3):\nTime allowance: 3');
    // Nothing is left pending for the scheduled job.
    expect((await t.db.query('select pending_since from admin_notice where certification_id = $1', [c])).rows[0].pending_since).toBeNull();
  });

  it('sends at most one per certification per sync run, even when two workers handle the same run at once', async () => {
    const a = await certification('Run A');
    const b = await certification('Run B');
    await assignLearners(a, 2, 0);
    await assignLearners(b, 1, 0);
    const results = await sync.syncAll('test');
    const forA = results.find((r) => r.stats.certificationId === a)!;
    const forB = results.find((r) => r.stats.certificationId === b)!;
    expect(forA.notice).toMatchObject({ sent: 1 });
    expect(forB.notice).toMatchObject({ sent: 1 });
    // A worker delivering the same run again, twice at once, adds nothing.
    const outcomes = await Promise.all([
      notices.notifyNewExceptions(a, forA.syncRunId),
      notices.notifyNewExceptions(a, forA.syncRunId),
      notices.notifyNewExceptions(b, forB.syncRunId),
    ]);
    expect(outcomes.every((o) => o.sent === 0)).toBe(true);
    expect(await notices_(a)).toHaveLength(1);
    expect(await notices_(b)).toHaveLength(1);
    // Even with the interval over, the same run never notifies twice (the key names the run).
    await t.db.query(`update admin_notice set sent_at = '-infinity' where certification_id = $1`, [a]);
    await notices.notifyNewExceptions(a, forA.syncRunId);
    expect(await notices_(a)).toHaveLength(1);
  });

  it('sends nothing when the run raised nothing, or its exceptions were all handled already', async () => {
    const c = await certification('Quiet');
    const empty = await sync.syncCertification(c, 'test');
    expect(empty!.notice).toEqual({ sent: 0, skipped: 'nothing_raised' });
    expect(await notices.notifyNewExceptions(c, empty!.syncRunId)).toEqual({ sent: 0, skipped: 'nothing_raised' });
    await assignLearners(c, 1, 0);
    const result = await sync.syncCertification(c, 'test');
    expect(result!.notice).toMatchObject({ sent: 1 });
    await t.db.query(`update exception set status = 'dismissed' where sync_run_id = $1`, [result!.syncRunId]);
    expect(await notices.notifyNewExceptions(c, result!.syncRunId)).toEqual({ sent: 0, skipped: 'none_open' });
    expect(await notices_(c)).toHaveLength(1);
    const quiet = await sync.syncCertification(c, 'test');
    expect(quiet!.notice).toEqual({ sent: 0, skipped: 'nothing_raised' });
  });

  const noticeQueue = () => t.app.get<Queue>(getQueueToken(ADMIN_NOTICES_QUEUE));
  /** The scheduled job, run once now through the queue and its processor, as the schedule runs it. */
  async function runDueNoticesJob(): Promise<DueNoticesResult> {
    const job = await noticeQueue().add(SEND_DUE_NOTICES_JOB, {});
    return job.finished();
  }
  /** Time passes for the certification's notice: its last one was sent this many minutes earlier. */
  const minutesPass = (certificationId: number, minutes: number) =>
    t.db.query(`update admin_notice set sent_at = sent_at - make_interval(mins => $2) where certification_id = $1`, [
      certificationId,
      minutes,
    ]);
  const pendingSince = async (certificationId: number) =>
    (await t.db.query('select pending_since from admin_notice where certification_id = $1', [certificationId])).rows[0].pending_since;

  it('tells the exceptions raised inside the interval in one notice once it has passed, through the scheduled job, exactly once', async () => {
    const c = await certification('Working at Height');
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toMatchObject({ sent: 1 });

    // Two runs inside the interval raise three more: no mail yet, the notice is pending.
    await assignLearners(c, 2, 0);
    const first = await syncAndNotify(c);
    expect(first.notice).toEqual({ sent: 0, deferred: 'interval' });
    await assignLearners(c, 0, 1);
    expect((await syncAndNotify(c)).notice).toEqual({ sent: 0, deferred: 'interval' });
    expect(await pendingSince(c)).toBeInstanceOf(Date);
    await runDueNoticesJob();
    expect(await notices_(c)).toHaveLength(1);
    await minutesPass(c, 59);
    await runDueNoticesJob();
    expect(await notices_(c)).toHaveLength(1);

    // The interval has passed: the job (here twice at once, as two workers might) writes one notice.
    await minutesPass(c, 2);
    await Promise.all([runDueNoticesJob(), notices.sendDueNotices()]);
    const rows = await notices_(c);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      username: 'ada',
      to_address: 'ada@example.org',
      subject: 'Exceptions require attention in certification «Working at Height»',
      message_key: `admin_exceptions:${c}:${Math.min(...first.raised)}:${staff.ada}`,
    });
    expect(rows[1].body_text).toContain('The certification «Working at Height» has 3 new exceptions since the last notice.\n');
    expect(rows[1].body_text).toContain('Open exceptions (4):\nTime allowance: 3\nCompletion time unknown: 1\n');
    expect(rows[1].body_text).toContain(`https://learn.example.org${BASE_PATH}/certifications/${c}/exceptions`);
    expect(await pendingSince(c)).toBeNull();

    // Running the job again, even after another interval, sends nothing more.
    await runDueNoticesJob();
    await minutesPass(c, 61);
    expect(await runDueNoticesJob()).toMatchObject({ sent: 0 });
    expect(await notices_(c)).toHaveLength(2);
  });

  it('sends nothing after the interval when the exceptions raised inside it were all handled meanwhile', async () => {
    const c = await certification('Ladders');
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toMatchObject({ sent: 1 });
    await assignLearners(c, 2, 0);
    expect((await syncAndNotify(c)).notice).toEqual({ sent: 0, deferred: 'interval' });

    // An administrator dismisses every open exception through the report's bulk action.
    const cont = await ada.post(`/certifications/${c}/exceptions/bulk`, {
      select: 'all',
      action: 'dismiss',
      reason: 'Handled before the notice',
    });
    expect(cont.status).toBe(303);
    const ok = await ada.post(cont.headers.location.split('?')[0], {});
    expect(ok.status).toBe(303);
    const bulkActionId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    for (let i = 0; (await t.db.query('select state from bulk_action where id = $1', [bulkActionId])).rows[0].state !== 'completed'; i++) {
      if (i > 200) throw new Error('the bulk action did not complete');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      (await t.db.query(`select count(*)::int as n from exception where certification_id = $1 and status = 'open'`, [c])).rows[0].n,
    ).toBe(0);

    await minutesPass(c, 61);
    await runDueNoticesJob();
    expect(await notices_(c)).toHaveLength(1);
    expect(await pendingSince(c)).toBeNull();
  });

  it('sends the notice to the extra recipients a certification names, each once, and refuses a bad address changing nothing', async () => {
    const c = await certification('Confined Spaces');
    const form = {
      fullName: 'Confined Spaces',
      shortName: `CS${c}`,
      idNumber: '',
      summary: '',
      activePeriodAmount: '1',
      activePeriodUnit: 'year',
      windowPeriodAmount: '1',
      windowPeriodUnit: 'month',
      recertificationBase: 'expiry',
      realisticBufferDays: '7',
      timeAllowancePolicy: 'hold',
      duplicateCoursePolicy: 'hold',
    };
    const stored = async () => (await t.db.query('select full_name, notice_recipients from certification where id = $1', [c])).rows[0];
    const before = await stored();
    expect(before.notice_recipients).toEqual([]);
    const edit = await ada.get(`/certifications/${c}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('<label class="app-label" for="noticeRecipients">Also send exception notices to (optional)</label>');

    const bad = await ada.post(`/certifications/${c}/edit`, {
      ...form,
      fullName: 'Renamed',
      noticeRecipients: 'safety.lead@example.org\nnot an address',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<title>Error: Edit details – Confined Spaces – Certex</title>');
    expect(mainText(bad.text)).toContain('“not an address” is not an email address: enter addresses like name@example.org, one per line');
    expect(bad.text).toContain('href="#noticeRecipients"');
    expect(bad.text).toMatch(
      /<textarea[^>]*id="noticeRecipients"[^>]*aria-invalid="true">safety.lead@example.org\nnot an address<\/textarea>/,
    );
    const injected = await ada.post(`/certifications/${c}/edit`, {
      ...form,
      noticeRecipients: 'desk@example.org\r\nBcc: everyone@example.org',
    });
    expect(mainText(injected.text)).toContain('“Bcc: everyone@example.org” is not an email address');
    const many = Array.from({ length: 21 }, (_, i) => `person${i}@example.org`).join(', ');
    const tooMany = await ada.post(`/certifications/${c}/edit`, { ...form, noticeRecipients: many });
    expect(tooMany.status).toBe(400);
    expect(mainText(tooMany.text)).toContain('Enter at most 20 email addresses (you entered 21)');
    expect(await stored()).toEqual(before);

    const saved = await ada.post(`/certifications/${c}/edit`, {
      ...form,
      noticeRecipients: ' safety.lead@example.org, Site.Office@example.org\nada@example.org\n\nsafety.lead@example.org ',
    });
    expect(saved.status).toBe(303);
    expect((await stored()).notice_recipients).toEqual(['safety.lead@example.org', 'Site.Office@example.org', 'ada@example.org']);
    expect(mainText((await ada.get(`/certifications/${c}`)).text)).toContain(
      'Exception notices Also sent to safety.lead@example.org Site.Office@example.org ada@example.org',
    );
    expect((await ada.get(`/certifications/${c}/edit`)).text).toContain(
      '>safety.lead@example.org\nSite.Office@example.org\nada@example.org</textarea>',
    );

    // Ada is an administrator and named as well: she gets it once.
    await assignLearners(c, 1, 0);
    const run = await syncAndNotify(c);
    expect(run.notice).toMatchObject({ sent: 3 });
    const key = `admin_exceptions:${c}:${Math.min(...run.raised)}`;
    const rows = await notices_(c);
    expect(rows.map((r) => [r.to_address, r.message_key, r.staff_id])).toEqual([
      ['ada@example.org', `${key}:${staff.ada}`, staff.ada],
      ['safety.lead@example.org', `${key}:to:safety.lead@example.org`, null],
      ['Site.Office@example.org', `${key}:to:site.office@example.org`, null],
    ]);
    expect(rows[1].subject).toBe('Exceptions require attention in certification «Confined Spaces»');
    expect(rows[1].body_text).toContain('Open exceptions (1):\nTime allowance: 1');
    expect(rows[1].body_text).toContain('names you as a recipient of its exception notices');
    expect(rows[1].body_text).not.toContain('/account');
    expect(await notices.notifyNewExceptions(c, run.runId)).toEqual({ sent: 0, skipped: 'already_told' });

    // The notice that waited for the interval goes to them too, once each.
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toEqual({ sent: 0, deferred: 'interval' });
    await minutesPass(c, 61);
    await runDueNoticesJob();
    await runDueNoticesJob();
    const later = (await notices_(c)).slice(3);
    expect(later.map((r) => r.to_address)).toEqual(['ada@example.org', 'safety.lead@example.org', 'Site.Office@example.org']);
    expect(new Set(later.map((r) => r.message_key)).size).toBe(3);
  });

  it('schedules the job in Redis every minute, one schedule however many workers', async () => {
    await t.app.get(AdminNoticeProcessor).schedule();
    await t.app.get(AdminNoticeProcessor).schedule();
    const repeatable = await noticeQueue().getRepeatableJobs();
    expect(repeatable.map((r) => [r.name, Number(r.every)])).toEqual([[SEND_DUE_NOTICES_JOB, 60_000]]);
    await noticeQueue().removeRepeatableByKey(repeatable[0].key);
  });

  it('lets an administrator switch the notice off (and on) on their account page', async () => {
    let page = await ada.get('/account');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Your account – Certex</title>');
    expect(mainText(page.text)).toContain('Name Ada Admin Username ada Role');
    expect(page.text).toMatch(/id="notifyExceptions" value="yes" checked/);

    const res = await ada.post('/account', { email: 'ada@example.org' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${BASE_PATH}/account`);
    page = await ada.get('/account');
    expect(mainText(page.text)).toContain('Saved: you will not be emailed about exceptions');
    expect(page.text).not.toMatch(/id="notifyExceptions" value="yes" checked/);

    const c = await certification('After opt-out');
    await assignLearners(c, 1, 0);
    expect((await syncAndNotify(c)).notice).toEqual({ sent: 0, skipped: 'no_recipients' });
    expect(await notices_(c)).toHaveLength(0);

    const bad = await ada.post('/account', { notifyExceptions: 'yes', email: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<title>Error: Your account – Certex</title>');
    expect(mainText(bad.text)).toContain('Enter your email address to receive these emails, or untick the box');
    expect(bad.text).toContain('href="#email"');
    const wrong = await ada.post('/account', { notifyExceptions: 'yes', email: 'not an address' });
    expect(mainText(wrong.text)).toContain('Enter an email address in the right format');
    expect((await t.db.query(`select notify_exceptions, email from staff where id = $1`, [staff.ada])).rows[0]).toEqual({
      notify_exceptions: false,
      email: 'ada@example.org',
    });

    expect((await ada.post('/account', { notifyExceptions: 'yes', email: 'ada.new@example.org' })).status).toBe(303);
    expect((await t.db.query(`select notify_exceptions, email from staff where id = $1`, [staff.ada])).rows[0]).toEqual({
      notify_exceptions: true,
      email: 'ada.new@example.org',
    });
  });

  it('shows a viewer their account without the option, and refuses their POST with 403', async () => {
    const page = await viewer.get('/account');
    expect(page.status).toBe(200);
    expect(mainText(page.text)).toContain('Name Vic Viewer Username vic Role');
    expect(page.text).not.toContain('notifyExceptions');
    const before = (await t.db.query('select notify_exceptions, email from staff where id = $1', [staff.vic])).rows[0];
    const res = await viewer.post('/account', { email: 'x@example.org' });
    expect(res.status).toBe(403);
    expect((await t.db.query('select notify_exceptions, email from staff where id = $1', [staff.vic])).rows[0]).toEqual(before);
  });
});
