import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { CERTIFICATION_LOCK_CLASS } from '../../src/database/locks';
import { mainText, TestApp, TestClient } from '../support/app';
import { queuedJobs, startWithStaff } from '../support/pages';
import { changedTables, databaseSnapshot } from '../support/routes';
import { dateIn } from '../support/sync';
import { previewCaption as caption, previewCount, previewListed as listed, previewRaised, saveFields } from '../support/preview';

describe('preview of an assignment before it is saved', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let certId: number;
  let otherCertId: number;
  let audienceId: number;
  let assignmentId: number;
  const TYPES = ['duplicate_course', 'completion_time_unknown', 'time_allowance'];

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const sync = (id: number) => t.app.get(MembershipSyncService).syncCertification(id, 'test');
  const syncJobs = async () => (await queuedJobs(t, 'membership-sync')).length;

  /** What the sync has made of the certification: open exceptions by type, and the first 10 of each by name. */
  async function raised(certificationId: number) {
    const counts: Record<string, number> = {};
    const firsts: Record<string, string[]> = {};
    for (const type of TYPES) {
      const { rows } = await t.db.query(
        `select learner_id_number from exception where certification_id = $1 and type = $2 and status = 'open'
          order by learner_sort_name, learner_id_number`,
        [certificationId, type],
      );
      counts[type] = rows.length;
      firsts[type] = rows.slice(0, 10).map((r) => r.learner_id_number);
    }
    return { counts, firsts };
  }

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff({ PROCESS_ROLE: 'web' }));
    const course = (await one(`insert into course (short_name, full_name) values ('FS1', 'Fire basics') returning id`)).id;
    const certs = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit,
                                  certification_min_days, recertification_min_days)
       values ('Fire Safety', 'FIRE', 1, 'year', 1, 'month', 30, 30), ('Warehouse Safety', 'WARE', 1, 'year', 1, 'month', 0, 0)
       returning id`,
    );
    [certId, otherCertId] = certs.rows.map((r) => r.id);
    for (const id of [certId, otherCertId]) {
      const set = await one(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set', 'all') returning id`,
        [id],
      );
      await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set.id, course]);
    }
    // D: also in Warehouse Safety (duplicate course); T: hired today (time allowance); U: no hire date
    // (completion time unknown); N: hired in 60 days (no exception).
    const groups: Array<[string, number, string | null]> = [
      ['D', 3, dateIn(0)],
      ['T', 12, dateIn(0)],
      ['U', 2, null],
      ['N', 2, dateIn(60)],
    ];
    for (const [prefix, n, hire] of groups) {
      await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email, hire_date)
         select $1 || lpad(i::text, 2, '0'), lower($1) || i, 'Pat', 'Zed' || $1 || lpad((100 - i)::text, 3, '0'), lower($1) || i || '@example.org', $2::date
           from generate_series(1, $3::int) i`,
        [prefix, hire, n],
      );
    }
    audienceId = (await one(`insert into audience (name) values ('Everyone') returning id`)).id;
    await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner`, [audienceId]);
    const warehouse = (await one(`insert into audience (name) values ('Warehouse staff') returning id`)).id;
    await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id_number like 'D%'`, [
      warehouse,
    ]);
    await t.db.query(`insert into assignment (certification_id, kind, audience_id, due_rule) values ($1, 'audience', $2, 'none')`, [
      otherCertId,
      warehouse,
    ]);
    await sync(otherCertId);
  });
  afterAll(() => t.close());

  const addRule = () => ({
    kind: 'audience',
    audienceId: String(audienceId),
    dueRule: 'relative',
    dueAmount: '10',
    dueUnit: 'day',
    dueEvent: 'hire',
  });
  const previewPath = (fields: Record<string, string>) => `/certifications/${certId}/assignments/preview?${new URLSearchParams(fields)}`;

  it('the form leads to a preview with GET, and a viewer may not preview', async () => {
    const form = await admin.get(`/certifications/${certId}/assignments/new`);
    expect(form.text).toContain(`<form class="app-form" method="get" action="/certifications/${certId}/assignments/preview" novalidate>`);
    expect(form.text).toContain('>Preview</button>');
    expect((await viewer.get(previewPath(addRule()))).status).toBe(403);
  });

  it('shows what adding an audience would do, by type with the first learners and why, and changes nothing', async () => {
    const jobsBefore = await syncJobs();
    const before = await databaseSnapshot(t.db);
    const page = await admin.get(previewPath(addRule()));
    expect(page.status).toBe(200);
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
    expect(await syncJobs()).toBe(jobsBefore);
    expect(page.text).toContain('<title>Check what this assignment will do – Fire Safety – Certex</title>');
    expect(previewCount(page.text, certId, 'Learners added')).toBe(19);
    expect(previewCount(page.text, certId, 'Exceptions raised')).toBe(17);
    expect(caption(page.text, certId, 'time_allowance')).toBe('Time allowance: 12 learners, the first 10 by name');
    expect(caption(page.text, certId, 'duplicate_course')).toBe('Duplicate course: 3 learners');
    const text = mainText(page.text);
    expect(text).toContain('Shares Fire basics with «Warehouse Safety»');
    expect(text).toContain('10 days after hire date: no hire date');
    expect(text).toMatch(/Due \d+ \w+ \d{4}: 10 days left, 30 needed \(20 short\)/);

    const saved = await admin.post(`/certifications/${certId}/assignments`, saveFields(page.text));
    expect(saved.status).toBe(303);
    assignmentId = (await one(`select id from assignment where certification_id = $1`, [certId])).id;
    const run = (await sync(certId))!;
    expect(run.stats.added).toBe(previewCount(page.text, certId, 'Learners added'));
    expect(run.stats.removed).toBe(previewCount(page.text, certId, 'Learners removed'));
    const actual = await raised(certId);
    for (const type of TYPES) {
      expect([type, listed(page.text, certId, type)]).toEqual([type, actual.firsts[type]]);
      expect([type, previewRaised(page.text, certId, type)]).toEqual([type, actual.counts[type]]);
      expect([type, run.stats.exceptions_raised[type as keyof typeof run.stats.exceptions_raised]]).toEqual([type, actual.counts[type]]);
    }
    expect(actual.counts).toEqual({ duplicate_course: 3, completion_time_unknown: 2, time_allowance: 12 });
  });

  it('shows what a later due date rule would do: due dates grown and exceptions resolved, as the sync then does', async () => {
    const fields = { dueRule: 'fixed', dueDate: dateIn(400) };
    const before = await databaseSnapshot(t.db);
    const page = await admin.get(`/certifications/${certId}/assignments/${assignmentId}/preview?${new URLSearchParams(fields)}`);
    expect(page.status).toBe(200);
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
    const saved = await admin.post(`/certifications/${certId}/assignments/${assignmentId}/edit`, saveFields(page.text));
    expect(saved.status).toBe(303);
    const run = (await sync(certId))!;
    expect(run.stats.due_updated).toBeGreaterThan(0);
    expect(previewCount(page.text, certId, 'Due dates made later')).toBe(run.stats.due_updated);
    expect(previewCount(page.text, certId, 'Open exceptions resolved')).toBe(run.stats.exceptions_resolved);
    expect(previewCount(page.text, certId, 'Open exceptions resolved')).toBe(14);
    expect(previewCount(page.text, certId, 'Exceptions raised')).toBe(0);
  });

  it('shows the learners a first-login rule would remove, as the sync then removes them', async () => {
    await t.db.query(`update learner set first_login_at = now() where id_number = 'N01'`);
    const fields = { dueRule: 'relative', dueAmount: '2', dueUnit: 'month', dueEvent: 'first_login' };
    const page = await admin.get(`/certifications/${certId}/assignments/${assignmentId}/preview?${new URLSearchParams(fields)}`);
    expect(previewCount(page.text, certId, 'Learners removed')).toBe(18);
    expect(mainText(page.text)).toContain('Removed: 18 learners, the first 10 by name');
    await admin.post(`/certifications/${certId}/assignments/${assignmentId}/edit`, saveFields(page.text));
    const run = (await sync(certId))!;
    expect(run.stats.removed).toBe(18);
    expect(run.stats.added).toBe(previewCount(page.text, certId, 'Learners added'));
  });

  it('Change goes back to the form with the answers kept', async () => {
    const page = await admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'T01', dueRule: 'fixed', dueDate: '2031-03-31' }));
    expect(page.status).toBe(200);
    const change = /href="([^"]+)">Change<\/a>/
      .exec(page.text)![1]
      .replace(/&amp;/g, '&')
      .replace(/&#x3D;/g, '=');
    const form = await admin.get(change);
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/id="learnerIdNumber" name="learnerIdNumber"[^>]*value="T01"/);
    expect(form.text).toMatch(/id="dueDate" name="dueDate"[^>]*value="2031-03-31"/);
    expect(form.text).toMatch(/id="dueRule-fixed" value="fixed" checked/);
  });

  it('shows the form with its errors, before any preview, for bad input', async () => {
    const before = await databaseSnapshot(t.db);
    const missing = await admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'T01', dueRule: 'fixed', dueDate: '' }));
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('<title>Error: Add an assignment – Fire Safety – Certex</title>');
    expect(missing.text).toContain('Enter the due date');
    const unknown = await admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'NOPE', dueRule: 'none' }));
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('There is no learner with this ID number');
    const again = await admin.get(previewPath({ ...addRule() }));
    expect(again.status).toBe(400);
    expect(again.text).toContain('This audience is already assigned to this certification');
    const badEdit = await admin.get(`/certifications/${certId}/assignments/${assignmentId}/preview?dueRule=relative&dueAmount=0`);
    expect(badEdit.status).toBe(400);
    expect(badEdit.text).toContain('<title>Error: Change a due date rule – Fire Safety – Certex</title>');
    expect((await admin.get(`/certifications/${otherCertId}/assignments/${assignmentId}/preview?dueRule=none`)).status).toBe(404);
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
  });

  it('Save after the data changed applies the change as submitted', async () => {
    const page = await admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'U01', dueRule: 'fixed', dueDate: '2031-03-31' }));
    expect(page.status).toBe(200);
    await t.db.query(`update learner set hire_date = current_date where id_number = 'U01'`);
    const saved = await admin.post(`/certifications/${certId}/assignments`, saveFields(page.text));
    expect(saved.status).toBe(303);
    const row = await one(
      `select a.due_rule, a.due_fixed_at from assignment a join learner l on l.id = a.learner_id where l.id_number = 'U01' and a.certification_id = $1`,
      [certId],
    );
    expect(row.due_rule).toBe('fixed');
  });

  it('shows what the sync then does to a certification sharing a course, whose open exceptions it re-checks next', async () => {
    const course = (await one(`select id from course where short_name = 'FS1'`)).id;
    const stores = (
      await one(`insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                            window_period_unit, certification_min_days, recertification_min_days)
                 values ('Stores Safety', 'STORE', 1, 'year', 1, 'month', 30, 30) returning id`)
    ).id;
    const set = await one(
      `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set', 'all') returning id`,
      [stores],
    );
    await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set.id, course]);
    const learner = (
      await one(
        `insert into learner (id_number, username, first_name, last_name, email) values ('X01', 'x1', 'Xia', 'Shared', 'x1@example.org') returning id`,
      )
    ).id;
    await t.db.query(
      `insert into assignment (certification_id, kind, learner_id, due_rule, due_fixed_at) values ($1, 'learner', $2, 'fixed', $3)`,
      [stores, learner, new Date(Date.now() + 5 * 24 * 3600 * 1000)],
    );
    await sync(stores);
    expect((await one(`select type from exception where certification_id = $1 and status = 'open'`, [stores])).type).toBe('time_allowance');
    // The assignment saved above, not synced yet, would come along in the preview: synced first.
    await sync(certId);

    const page = await admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'X01', dueRule: 'none' }));
    expect(page.status).toBe(200);
    expect(mainText(page.text)).toContain('In certifications that share a course');
    expect(previewCount(page.text, certId, 'Learners added')).toBe(1);
    expect(listed(page.text, certId, 'duplicate_course')).toEqual(['X01']);
    expect(previewCount(page.text, stores, 'Open exceptions changed')).toBe(1);
    expect(previewCount(page.text, stores, 'Learners added')).toBe(0);

    await admin.post(`/certifications/${certId}/assignments`, saveFields(page.text));
    expect((await sync(certId))!.stats.exceptions_raised).toEqual({ duplicate_course: 1 });
    const knockOn = (await sync(stores))!;
    expect(knockOn.stats.exceptions_updated).toBe(previewCount(page.text, stores, 'Open exceptions changed'));
    expect((await one(`select type from exception where certification_id = $1 and status = 'open'`, [stores])).type).toBe(
      'duplicate_course',
    );
  });

  it('waits for a sync chunk or bulk action holding the certification, and holds its lock no longer than its request', async () => {
    const holder = await t.db.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock($1, $2)`, [CERTIFICATION_LOCK_CLASS, certId]);
      let answered = false;
      const pending = admin.get(previewPath({ kind: 'learner', learnerIdNumber: 'N02', dueRule: 'none' })).then((res) => {
        answered = true;
        return res;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answered).toBe(false);
      await holder.query('commit');
      expect((await pending).status).toBe(200);
      // Released with the preview's transaction: another taker gets it at once.
      await holder.query('begin');
      expect((await holder.query(`select pg_try_advisory_xact_lock($1, $2) as got`, [CERTIFICATION_LOCK_CLASS, certId])).rows[0].got).toBe(
        true,
      );
      await holder.query('commit');
    } finally {
      holder.release();
    }
  });
});
