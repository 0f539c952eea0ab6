import { EntityManager } from '@mikro-orm/postgresql';
import { endOfDay, localDate, startOfDay } from '../../src/common/time-zone';
import { sql, SqlRunner } from '../../src/database/sql';
import { endOfDaySql, startOfDaySql } from '../../src/lifecycle/period';
import { LifecycleService } from '../../src/lifecycle/lifecycle.service';
import { LearnerMessagesService } from '../../src/notifications/learner-messages.service';
import { MailRelayService } from '../../src/notifications/mail-relay.service';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { startSmtpServer, TestSmtpServer } from '../support/smtp';
import { lastSyncRunId, waitForSyncRun } from '../support/sync';

/**
 * Time zones end to end: the site is in New York (SITE_TIMEZONE), PostgreSQL's sessions are set to
 * Pacific/Chatham (UTC+13:45, clocks changing on other days), and one viewer reads in Kathmandu.
 * New York is behind UTC, so a day of the site shown or counted in UTC would be a day off in the
 * evening; Chatham's clocks do not change on 8 March, so day arithmetic done in the session's zone
 * would be an hour off across New York's change of clocks.
 */
const SITE = 'America/New_York';
const DB_SESSION_ZONE = 'Pacific/Chatham';

/** "UTC-05:00": the zone's offset now, as the runtime reports it. */
function offsetNow(zone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' })
    .formatToParts(new Date())
    .find((p) => p.type === 'timeZoneName')!.value;
  return name === 'GMT' ? 'UTC+00:00' : name.replace('GMT', 'UTC');
}

const footerOf = (html: string) =>
  /<footer[\s\S]*?<\/footer>/
    .exec(html)![0]
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ');
const csvLines = (text: string) => text.trim().split(/\r?\n/);

describe('time zones', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let admin: TestClient;
  let viewer: TestClient;
  let certId: number;
  const learner: Record<string, number> = {};

  const run = <T extends object>(query: ReturnType<typeof sql>) =>
    t.inContext(() => new SqlRunner(t.app.get(EntityManager).fork()).rows<T>(query));

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SITE_TIMEZONE: SITE, SMTP_URL: smtp.url }, { databaseTimeZone: DB_SESSION_ZONE });
    await t.createStaff('ada', 'admin');
    await t.createStaff('kim', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('kim');
    certId = (
      await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
         values ('Fire Safety', 'FIRE', 1, 'week', 1, 'day') returning id`,
      )
    ).rows[0].id;
    for (const [idNumber, first] of [
      ['TZ1', 'Ann'],
      ['TZ2', 'Bob'],
    ]) {
      const { rows } = await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email) values ($1::text, lower($1::text), $2, 'Zone', lower($1::text) || '@example.org') returning id`,
        [idNumber, first],
      );
      learner[idNumber] = rows[0].id;
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('runs with a database session zone that is neither UTC nor the site’s', async () => {
    expect((await t.db.query('show timezone')).rows[0].TimeZone).toBe(DB_SESSION_ZONE);
    const [row] = await run<{ zone: string }>(sql`select current_setting('TimeZone') as zone`);
    expect(row.zone).toBe(DB_SESSION_ZONE);
  });

  it('computes the end and start of a day in SQL exactly as the TypeScript rules do, around changes of clocks', async () => {
    const cases: Array<[string, string]> = [
      ['2026-03-07', 'America/New_York'],
      ['2026-03-08', 'America/New_York'],
      ['2026-11-01', 'America/New_York'],
      ['2026-03-29', 'Europe/London'],
      ['2026-10-25', 'Europe/London'],
      ['2026-04-05', 'Australia/Sydney'],
      ['2026-10-04', 'Australia/Sydney'],
      ['2026-09-06', 'America/Santiago'],
    ];
    for (const [date, zone] of cases) {
      // Milliseconds since the epoch: the moment itself, whatever the session's zone prints.
      const [row] = await run<{ ends: string; starts: string }>(
        sql`select (extract(epoch from ${endOfDaySql(sql`${date}::date`, zone)}) * 1000)::bigint as ends,
                   (extract(epoch from ${startOfDaySql(sql`${date}::date`, zone)}) * 1000)::bigint as starts`,
      );
      expect([date, zone, new Date(Number(row.ends)).toISOString()]).toEqual([date, zone, endOfDay(date, zone).toISOString()]);
      expect([date, zone, new Date(Number(row.starts)).toISOString()]).toEqual([date, zone, startOfDay(date, zone).toISOString()]);
    }
  });

  it('names the reader’s zone and its offset in every page’s footer', async () => {
    const page = await admin.get('/certifications');
    expect(footerOf(page.text)).toContain(`Times are in ${SITE} (${offsetNow(SITE)})`);
    const login = await new TestClient(t.server, '').get('/login');
    expect(footerOf(login.text)).toContain(`Times are in ${SITE} (${offsetNow(SITE)})`);
  });

  it('stores a due date typed on the form as the end of that day in the site’s zone, and shows it as that day', async () => {
    const before = await lastSyncRunId(t);
    // 14 Mar 2027 is the first day of daylight saving time in New York: it ends at 23:59:59.999 EDT.
    let res = await admin.post(`/certifications/${certId}/assignments`, {
      kind: 'learner',
      learnerIdNumber: 'TZ1',
      dueRule: 'fixed',
      dueDate: '2027-03-14',
    });
    expect(res.status).toBe(303);
    await waitForSyncRun(t, certId, 'assignment added', before);
    const second = await lastSyncRunId(t);
    res = await admin.post(`/certifications/${certId}/assignments`, {
      kind: 'learner',
      learnerIdNumber: 'TZ2',
      dueRule: 'fixed',
      dueDate: '2027-03-13',
    });
    expect(res.status).toBe(303);
    await waitForSyncRun(t, certId, 'assignment added', second);

    const { rows } = await t.db.query(
      `select l.id_number, a.due_fixed_at, m.due_at, m.exception_status
         from assignment a join learner l on l.id = a.learner_id
         join membership m on m.learner_id = l.id and m.certification_id = a.certification_id
        where a.certification_id = $1 order by l.id_number`,
      [certId],
    );
    expect(rows.map((r) => [r.id_number, r.due_fixed_at.toISOString(), r.due_at.toISOString(), r.exception_status])).toEqual([
      ['TZ1', '2027-03-15T03:59:59.999Z', '2027-03-15T03:59:59.999Z', 'none'],
      ['TZ2', '2027-03-14T04:59:59.999Z', '2027-03-14T04:59:59.999Z', 'none'],
    ]);

    const tab = mainText((await admin.get(`/certifications/${certId}/assignments`)).text);
    expect(tab).toContain('Fixed: 14 Mar 2027');
    expect(tab).toContain('Fixed: 13 Mar 2027');
    const report = mainText((await admin.get(`/certifications/${certId}/completion`)).text);
    expect(report).toContain('Ann Zone TZ1 Not certified 14 Mar 2027');
    expect(report).toContain('Bob Zone TZ2 Not certified 13 Mar 2027');

    const assignmentId = (await t.db.query(`select id from assignment where learner_id = $1`, [learner.TZ1])).rows[0].id;
    const form = await admin.get(`/certifications/${certId}/assignments/${assignmentId}/edit`);
    expect(form.text).toMatch(/id="dueDate" name="dueDate" type="date" value="2027-03-14"/);
    expect(form.text).toContain(`due by the end of that day in ${SITE}`);
  });

  it('lets a person choose their own zone, refusing a zone not in the list, and shows them every time in it', async () => {
    const account = await viewer.get('/account');
    expect(account.text).toContain(`<option value="" selected>Site default (${SITE})</option>`);
    expect(account.text).toContain('<option value="Asia/Kathmandu">Asia/Kathmandu</option>');

    for (const bad of ['Mars/Olympus', 'asia/kathmandu', '+05:45']) {
      const refused = await viewer.post('/account/time-zone', { timeZone: bad });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('href="#timeZone">Choose a time zone from the list</a>');
    }
    expect((await t.db.query(`select time_zone from staff where username = 'kim'`)).rows[0].time_zone).toBeNull();

    const saved = await viewer.post('/account/time-zone', { timeZone: 'Asia/Kathmandu' });
    expect(saved.status).toBe(303);
    expect((await t.db.query(`select time_zone from staff where username = 'kim'`)).rows[0].time_zone).toBe('Asia/Kathmandu');
    const after = await viewer.get('/account');
    expect(mainText(after.text)).toContain('Saved: times are shown in Asia/Kathmandu (UTC+05:45)');
    expect(after.text).toContain('<option value="Asia/Kathmandu" selected>Asia/Kathmandu</option>');

    // The end of 14 Mar in New York is 09:44 on 15 Mar in Kathmandu.
    const report = await viewer.get(`/certifications/${certId}/completion`);
    expect(footerOf(report.text)).toContain('Times are in Asia/Kathmandu (UTC+05:45)');
    expect(mainText(report.text)).toContain('Ann Zone TZ1 Not certified 15 Mar 2027');
    expect(mainText(report.text)).toContain('Bob Zone TZ2 Not certified 14 Mar 2027');

    // A date and time: the first login, on the learner's page.
    await t.db.query(`update learner set first_login_at = '2026-07-01T12:00:00Z' where id = $1`, [learner.TZ1]);
    expect(mainText((await viewer.get(`/learners/${learner.TZ1}`)).text)).toContain('First login 1 Jul 2026, 17:45 GMT+5:45');
    expect(mainText((await admin.get(`/learners/${learner.TZ1}`)).text)).toContain('First login 1 Jul 2026, 08:00 GMT-4');
    // The administrator still reads the site's zone.
    expect(footerOf((await admin.get('/certifications')).text)).toContain(`Times are in ${SITE}`);
  });

  it('reads a date and time typed on a form in the reader’s zone, and shows it back in that zone', async () => {
    const form = await admin.get(`/learners/${learner.TZ1}/edit`);
    expect(form.text).toContain('value="2026-07-01T08:00"');
    expect(form.text).toContain(`Date and time in ${SITE}`);
    const saved = await admin.post(`/learners/${learner.TZ1}`, {
      idNumber: 'TZ1',
      username: 'tz1',
      firstName: 'Ann',
      lastName: 'Zone',
      email: 'tz1@example.org',
      hireDate: '',
      // 2:30 on 8 Mar 2026 does not exist in New York: read as 3:30 EDT, as PostgreSQL reads it.
      firstLogin: '2026-03-08T02:30',
    });
    expect(saved.status).toBe(303);
    const { rows } = await t.db.query(`select first_login_at from learner where id = $1`, [learner.TZ1]);
    expect(rows[0].first_login_at.toISOString()).toBe('2026-03-08T07:30:00.000Z');
  });

  it('writes CSV dates as days of the reader’s zone, naming the zone in the header', async () => {
    const mine = csvLines((await admin.get(`/certifications/${certId}/completion.csv`)).text);
    expect(mine[0]).toBe(`Learner,ID number,State,Due date (${SITE}),Certified on (${SITE}),Expires on (${SITE})`);
    expect(mine).toContain('Ann Zone,TZ1,Not certified,2027-03-14,,');
    expect(mine).toContain('Bob Zone,TZ2,Not certified,2027-03-13,,');

    const theirs = csvLines((await viewer.get(`/certifications/${certId}/completion.csv`)).text);
    expect(theirs[0]).toContain('Due date (Asia/Kathmandu)');
    expect(theirs).toContain('Ann Zone,TZ1,Not certified,2027-03-15,,');

    const membership = csvLines((await admin.get(`/certifications/${certId}/membership.csv?columns=expires_on`)).text);
    expect(membership[0]).toBe(`Learner,ID number,Assigned by,Assigned on (${SITE}),Due date (${SITE}),Expires on (${SITE})`);
    expect(membership.find((line) => line.startsWith('Ann Zone'))).toContain(',2027-03-14,');
  });

  it('writes the learners’ emails with dates in the site’s zone, whoever reads the pages', async () => {
    const sweep = await t.inContext(() => t.app.get(LearnerMessagesService).sweep());
    expect(sweep.written.enrolment).toBe(2);
    await t.app.get(MailRelayService).drain();
    await smtp.waitFor(() => smtp.received.filter((m) => m.subject.startsWith('You have been enrolled')).length >= 2);
    const toAnn = smtp.received.find((m) => m.rcptTo.includes('tz1@example.org'))!;
    expect(toAnn.text).toContain('Please complete it by 14 March 2027.');
    const toBob = smtp.received.find((m) => m.rcptTo.includes('tz2@example.org'))!;
    expect(toBob.text).toContain('Please complete it by 13 March 2027.');
  });

  it('makes a learner overdue at midnight of the site’s day, and due soon by days of the site’s calendar', async () => {
    const { rows } = await t.db.query(
      `with l as (
         insert into learner (id_number, username, first_name, last_name, email)
         select 'OD' || n, 'od' || n, 'Olly', 'Due' || n, 'od' || n || '@example.org' from generate_series(1, 3) n returning id, id_number)
       insert into membership (certification_id, learner_id, due_at, assigned_at, exception_status)
       select $1, l.id,
              case l.id_number
                -- the end of yesterday and of today in New York, from the database's clock
                when 'OD1' then (((now() at time zone $2::text)::date)::timestamp at time zone $2::text) - interval '1 millisecond'
                when 'OD2' then (((now() at time zone $2::text)::date + 1)::timestamp at time zone $2::text) - interval '1 millisecond'
                -- the end of 20 Mar 2027, after New York's clocks change on 14 Mar
                else '2027-03-21T03:59:59.999Z'::timestamptz end,
              now(), 'none'
         from l
       returning id, learner_id, due_at`,
      [certId, SITE],
    );
    const [yesterday, today, later] = rows;
    const todayHere = localDate(new Date(), SITE);
    expect(localDate(today.due_at, SITE)).toBe(todayHere);
    expect(localDate(new Date(today.due_at.getTime() + 1), SITE)).not.toBe(todayHere);

    const messages = t.app.get(LearnerMessagesService);
    const kinds = async (membershipId: number) =>
      (await t.db.query(`select kind from outbox where membership_id = $1 order by id`, [membershipId])).rows.map((r) => r.kind);

    await t.inContext(() => messages.sweep(new Date()));
    expect(await kinds(yesterday.id)).toContain('overdue');
    expect(await kinds(today.id)).not.toContain('overdue');

    // The last millisecond of today in New York: not yet overdue; local midnight: overdue.
    await t.inContext(() => messages.sweep(new Date(today.due_at.getTime())));
    expect(await kinds(today.id)).not.toContain('overdue');
    await t.inContext(() => messages.sweep(new Date(today.due_at.getTime() + 1)));
    expect(await kinds(today.id)).toContain('overdue');

    // Due soon 14 days before the end of 20 Mar 2027: the end of 6 Mar (EST), 04:59:59.999 UTC on 7 Mar,
    // not 14 × 24 hours before (03:59:59.999 UTC), which is what the session's zone would give.
    await t.inContext(() => messages.sweep(new Date('2027-03-07T04:30:00Z')));
    expect(await kinds(later.id)).not.toContain('due_soon');
    await t.inContext(() => messages.sweep(new Date('2027-03-07T05:00:00Z')));
    expect(await kinds(later.id)).toContain('due_soon');
  });

  it('records a completion date typed on the form as the start of that day in the site’s zone, expiring on the site’s calendar', async () => {
    const { rows: courseRows } = await t.db.query(
      `insert into course (short_name, full_name) values ('EXT-1', 'Extinguishers') returning id`,
    );
    const courseId = courseRows[0].id;
    await t.db.query(
      `with s as (insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Basics', 'all') returning id)
       insert into course_set_course (course_set_id, course_id) select id, $2 from s`,
      [certId, courseId],
    );
    // Today in New York is the latest a completion may be; tomorrow there is refused.
    const tomorrow = localDate(new Date(Date.now() + 36 * 3600 * 1000), SITE);
    const refused = await admin.post(`/learners/${learner.TZ2}/completions`, { courseId: String(courseId), completedOn: tomorrow });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('href="#completedOn">Completion date must be today or in the past</a>');

    const res = await admin.post(`/learners/${learner.TZ2}/completions`, { courseId: String(courseId), completedOn: '2026-03-05' });
    expect(res.status).toBe(303);
    const { rows } = await t.db.query(`select completed_at from course_completion where learner_id = $1`, [learner.TZ2]);
    expect(rows[0].completed_at.toISOString()).toBe('2026-03-05T05:00:00.000Z');

    await t.inContext(() => t.app.get(LifecycleService).completionCheck([learner.TZ2]));
    const { rows: m } = await t.db.query(
      `select state, certified_at, expires_at, window_opens_at from membership where learner_id = $1 and certification_id = $2`,
      [learner.TZ2, certId],
    );
    // 1 week after 00:00 EST on 5 Mar is 00:00 EDT on 12 Mar: 6 days and 23 hours later.
    expect(m[0].state).toBe('certified');
    expect(m[0].certified_at.toISOString()).toBe('2026-03-05T05:00:00.000Z');
    expect(m[0].expires_at.toISOString()).toBe('2026-03-12T04:00:00.000Z');
    expect(m[0].window_opens_at.toISOString()).toBe('2026-03-11T04:00:00.000Z');
  });
});
