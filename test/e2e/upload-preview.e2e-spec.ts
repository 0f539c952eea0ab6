import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { MaintenanceService } from '../../src/jobs/maintenance.service';
import { csrfFrom, mainText, TestApp, TestClient } from '../support/app';
import { jobsWithReason, startWithStaff } from '../support/pages';
import { previewCaption, previewCount, previewListed, previewRaised } from '../support/preview';
import { changedTables, databaseSnapshot } from '../support/routes';
import { dateIn } from '../support/sync';

describe('preview of an audience member upload before it is saved', () => {
  let t: TestApp;
  let admin: TestClient;
  let otherAdmin: TestClient;
  let viewer: TestClient;
  let fireId: number;
  let warehouseId: number;
  let audienceId: number;
  let idleAudienceId: number;
  const TYPES = ['duplicate_course', 'completion_time_unknown', 'time_allowance'];

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];
  const sync = (id: number) => t.app.get(MembershipSyncService).syncCertification(id, 'test');
  const members = async (id: number) => (await one(`select count(*)::int as n from audience_member where audience_id = $1`, [id])).n;

  async function upload(client: TestClient, audience: number, csv: string) {
    const path = `/audiences/${audience}/upload`;
    const token = csrfFrom((await client.get(path)).text)!;
    return client.agent
      .post(`${client.path(path)}?_csrf=${encodeURIComponent(token)}`)
      .attach('file', Buffer.from(csv), { filename: 'members.csv', contentType: 'text/csv' });
  }

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff({ PROCESS_ROLE: 'web' }));
    await t.createStaff('amy', 'admin', undefined, 'Amy Admin');
    otherAdmin = await t.signedIn('amy');
    const course = (await one(`insert into course (short_name, full_name) values ('FS1', 'Fire basics') returning id`)).id;
    const certs = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit,
                                  certification_min_days, recertification_min_days)
       values ('Fire Safety', 'FIRE', 1, 'year', 1, 'month', 30, 30), ('Warehouse Safety', 'WARE', 1, 'year', 1, 'month', 0, 0)
       returning id`,
    );
    [fireId, warehouseId] = certs.rows.map((r) => r.id);
    for (const id of [fireId, warehouseId]) {
      const set = await one(
        `insert into course_set (certification_id, path, position, name, completion_rule) values ($1, 'certification', 1, 'Set', 'all') returning id`,
        [id],
      );
      await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set.id, course]);
    }
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
    idleAudienceId = (await one(`insert into audience (name) values ('Nobody assigns us') returning id`)).id;
    await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id_number = 'N01'`, [
      audienceId,
    ]);
    await t.db.query(
      `insert into assignment (certification_id, kind, audience_id, due_rule, due_amount, due_unit, due_event)
       values ($1, 'audience', $2, 'relative', 10, 'day', 'hire')`,
      [fireId, audienceId],
    );
    const warehouse = (await one(`insert into audience (name) values ('Warehouse staff') returning id`)).id;
    await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id_number like 'D%'`, [
      warehouse,
    ]);
    await t.db.query(`insert into assignment (certification_id, kind, audience_id, due_rule) values ($1, 'audience', $2, 'none')`, [
      warehouseId,
      warehouse,
    ]);
    await sync(warehouseId);
    await sync(fireId);
  });
  afterAll(() => t.close());

  const everyone = [
    'id_number',
    'N01',
    'D01',
    'D02',
    'D03',
    ...Array.from({ length: 12 }, (_, i) => `T${String(i + 1).padStart(2, '0')}`),
    'U01',
    'U02',
  ];

  it('keeps a checked file as a pending upload, previews it without changing anything, and Save adds the members the sync then raises exceptions for', async () => {
    const jobsBefore = (await jobsWithReason(t, 'membership-sync', 'audience members uploaded')).length;
    const uploaded = await upload(admin, audienceId, everyone.join('\n') + '\n');
    expect(uploaded.status).toBe(303);
    const previewPath = uploaded.headers.location;
    expect(previewPath).toMatch(new RegExp(`^/audiences/${audienceId}/upload/[0-9a-f-]{36}$`));
    expect(await members(audienceId)).toBe(1);
    expect((await one(`select count(*)::int as n from pending_member_upload_learner`)).n).toBe(18);

    const before = await databaseSnapshot(t.db);
    const page = await admin.get(previewPath);
    expect(page.status).toBe(200);
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
    expect((await jobsWithReason(t, 'membership-sync', 'audience members uploaded')).length).toBe(jobsBefore);
    expect(page.text).toContain('<title>Check what adding these members will do – Everyone – Audiences – Certex</title>');
    const text = mainText(page.text);
    expect(text).toContain('Learners in the file 18 New members 17 Already members 1');
    expect(previewCount(page.text, fireId, 'Learners added')).toBe(17);
    expect(previewCaption(page.text, fireId, 'time_allowance')).toBe('Time allowance: 12 learners, the first 10 by name');
    expect(text).toContain('Shares Fire basics with «Warehouse Safety»');
    expect(text).toContain('10 days after hire date: no hire date');
    // A viewer, and another administrator, cannot use this upload.
    expect((await viewer.get(previewPath)).status).toBe(403);
    const stranger = await otherAdmin.get(previewPath);
    expect(stranger.status).toBe(303);
    expect(stranger.headers.location).toBe(`/audiences/${audienceId}/upload`);
    expect((await otherAdmin.post(previewPath)).status).toBe(303);
    expect(await members(audienceId)).toBe(1);

    const saved = await admin.post(previewPath);
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toBe(`/audiences/${audienceId}`);
    expect(mainText((await admin.get(saved.headers.location)).text)).toContain('17 members added, 1 already was a member');
    expect(await members(audienceId)).toBe(18);
    expect((await one(`select count(*)::int as n from pending_member_upload`)).n).toBe(0);
    expect((await jobsWithReason(t, 'membership-sync', 'audience members uploaded')).length).toBe(jobsBefore + 1);

    const run = (await sync(fireId))!;
    expect(run.stats.added).toBe(previewCount(page.text, fireId, 'Learners added'));
    expect(run.stats.removed).toBe(previewCount(page.text, fireId, 'Learners removed'));
    for (const type of TYPES) {
      const { rows } = await t.db.query(
        `select learner_id_number from exception where certification_id = $1 and type = $2 and status = 'open'
          order by learner_sort_name, learner_id_number`,
        [fireId, type],
      );
      expect([type, previewRaised(page.text, fireId, type)]).toEqual([type, rows.length]);
      expect([type, previewListed(page.text, fireId, type)]).toEqual([type, rows.slice(0, 10).map((r) => r.learner_id_number)]);
    }
    expect(run.stats.exceptions_raised).toEqual({ duplicate_course: 3, completion_time_unknown: 2, time_allowance: 12 });

    // Saving the same upload again adds nothing: it is gone.
    const again = await admin.post(previewPath);
    expect(again.headers.location).toBe(`/audiences/${audienceId}/upload`);
    expect(mainText((await admin.get(again.headers.location)).text)).toContain('That upload has expired or was already saved');
  });

  it('says so when no certification assigns the audience', async () => {
    const uploaded = await upload(admin, idleAudienceId, 'id_number\nT01\n');
    const page = await admin.get(uploaded.headers.location);
    expect(mainText(page.text)).toContain('No certification assigns this audience: saving adds the members and changes no certification.');
  });

  it('refuses a file with problems as before, keeping nothing', async () => {
    const before = await databaseSnapshot(t.db);
    const res = await upload(admin, audienceId, 'id_number\nT01\nNOPE\n');
    expect(res.status).toBe(400);
    expect(mainText(res.text)).toContain('Line 3, column id_number: There is no learner with ID number NOPE');
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
  });

  it('lets a pending upload expire after an hour: Save then adds nothing, and the maintenance job deletes it', async () => {
    const uploaded = await upload(admin, idleAudienceId, 'id_number\nT02\n');
    const token = uploaded.headers.location.split('/').pop();
    expect((await one(`select expires_at - created_at as lifetime from pending_member_upload where token = $1`, [token])).lifetime).toEqual(
      {
        hours: 1,
      },
    );
    await t.db.query(`update pending_member_upload set expires_at = now() - interval '1 second' where token = $1`, [token]);
    const membersBefore = await members(idleAudienceId);
    expect((await admin.get(uploaded.headers.location)).headers.location).toBe(`/audiences/${idleAudienceId}/upload`);
    expect((await admin.post(uploaded.headers.location)).headers.location).toBe(`/audiences/${idleAudienceId}/upload`);
    expect(await members(idleAudienceId)).toBe(membersBefore);
    await t.app.get(MaintenanceService).purgeExpired(`preview-test-${Date.now()}`);
    expect((await one(`select count(*)::int as n from pending_member_upload where token = $1`, [token])).n).toBe(0);
    expect((await one(`select count(*)::int as n from pending_member_upload_learner where token = $1`, [token])).n).toBe(0);
  });
});
