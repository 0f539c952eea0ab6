import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { buildScaleData, newTag, ScaleData } from '../../src/database/seeders/scale';
import { startTestApp, TestApp } from '../support/app';

/**
 * A certification with more learners than SYNC_CHUNK_SIZE is synced in chunks of learner ids, each
 * in its own transaction. 100 learners as seed:scale makes them: 10 without a hire date
 * (completion time unknown), 70 hired 80 days ago (time allowance), 5 also in a certification
 * sharing a course (duplicate course), 15 assigned.
 */
describe('membership sync in chunks of SYNC_CHUNK_SIZE learners', () => {
  const CHUNK = 7;
  let t: TestApp;
  let sync: MembershipSyncService;

  beforeAll(async () => {
    t = await startTestApp({ SYNC_CHUNK_SIZE: String(CHUNK), ADMIN_NOTICE_INTERVAL_MINUTES: '60' });
    const admin = await t.createStaff('ada', 'admin');
    await t.db.query(`update staff set email = 'ada@example.org', notify_exceptions = true where id = $1`, [admin]);
    sync = t.app.get(MembershipSyncService);
  });
  afterAll(() => t.close());

  const one = async (sql: string, params: unknown[] = []) => (await t.db.query(sql, params)).rows[0];

  async function dataSet(): Promise<ScaleData> {
    const data = await buildScaleData(t.db, { learners: 100, tag: newTag(), shortPercent: 70, noHirePercent: 10, duplicatePercent: 5 });
    await sync.syncCertification(data.otherCertificationId!, 'test');
    return data;
  }

  const notices = async (certificationId: number) =>
    (
      await t.db.query(`select body_text from outbox where kind = 'admin_exceptions' and certification_id = $1 order by id`, [
        certificationId,
      ])
    ).rows as Array<{ body_text: string }>;

  async function counts(certificationId: number) {
    return one(
      `select (select count(*)::int from membership where certification_id = $1 and removed_at is null) as members,
              (select count(*)::int from membership where certification_id = $1 and removed_at is null
                  and exception_status = 'none' and assigned_at is not null) as assigned,
              (select count(*)::int from exception where certification_id = $1 and status = 'open') as open,
              (select count(*)::int from membership m where m.certification_id = $1 and m.removed_at is null
                  and (m.exception_status = 'open') <> exists (select 1 from exception e where e.membership_id = m.id and e.status = 'open'))
                 as mismatched,
              (select count(*)::int from membership_source s join membership m on m.id = s.membership_id
                where m.certification_id = $1 and m.removed_at is null) as sources`,
      [certificationId],
    );
  }

  it('applies every rule as one piece would, and one notice tells all the run raised', async () => {
    const data = await dataSet();
    const result = (await sync.syncCertification(data.certificationId, 'test'))!;
    expect(result.chunks).toBe(Math.floor(100 / CHUNK) + 1);
    expect(result.stats).toMatchObject({
      added: 100,
      removed: 0,
      exceptions_raised: { completion_time_unknown: 10, time_allowance: 70, duplicate_course: 5 },
      sources_added: 100,
    });
    expect(await counts(data.certificationId)).toEqual({ members: 100, assigned: 15, open: 85, mismatched: 0, sources: 100 });
    // Every exception names the run that raised it; the run records its chunks.
    expect(await one(`select count(*)::int as n from exception where sync_run_id = $1`, [result.syncRunId])).toEqual({ n: 85 });
    const run = await one(`select finished_at, stats from sync_run where id = $1`, [result.syncRunId]);
    expect(run.finished_at).not.toBeNull();
    expect(run.stats).toMatchObject({ added: 100, chunks: result.chunks });
    expect(result.notice).toMatchObject({ sent: 1 });
    const sent = await notices(data.certificationId);
    expect(sent).toHaveLength(1);
    expect(sent[0].body_text).toContain('has 85 new exceptions.');
    expect(sent[0].body_text).toContain('Open exceptions (85):\nTime allowance: 70\nDuplicate course: 5\nCompletion time unknown: 10');

    // Nothing changed: every open exception is re-checked, nothing is raised or told again.
    const again = (await sync.syncCertification(data.certificationId, 'test'))!;
    expect(again.stats).toMatchObject({ added: 0, removed: 0, rechecked_open: 85, exceptions_raised: {}, exceptions_resolved: 0 });
    expect(again.notice).toEqual({ sent: 0, skipped: 'nothing_raised' });
    expect(await counts(data.certificationId)).toEqual({ members: 100, assigned: 15, open: 85, mismatched: 0, sources: 100 });

    // Learners who left, spread over every chunk, leave; their open exceptions are resolved.
    const left = await t.db.query(`delete from audience_member where audience_id = $1 and learner_id % 9 = 0 returning learner_id`, [
      data.audienceId,
    ]);
    const leftOpen = await one(
      `select count(*)::int as n from exception where certification_id = $1 and status = 'open' and learner_id = any($2::int[])`,
      [data.certificationId, left.rows.map((r) => r.learner_id)],
    );
    const removal = (await sync.syncCertification(data.certificationId, 'test'))!;
    expect(removal.stats).toMatchObject({ added: 0, removed: left.rowCount, exceptions_resolved: leftOpen.n });
    const after = await counts(data.certificationId);
    expect(after).toMatchObject({ members: 100 - left.rowCount!, open: 85 - leftOpen.n, mismatched: 0, sources: 100 - left.rowCount! });
  });

  it('keeps each chunk whole: a run that stops mid-way leaves whole chunks, and the next run tells what it raised', async () => {
    const data = await dataSet();
    const service = sync as unknown as { syncSources: (...args: unknown[]) => Promise<unknown> };
    const syncSources = service.syncSources;
    let calls = 0;
    const spy = jest.spyOn(service, 'syncSources').mockImplementation(async function (this: unknown, ...args: unknown[]) {
      if (++calls === 3) throw new Error('connection lost in the third chunk');
      return syncSources.apply(this, args);
    });
    try {
      await expect(sync.syncCertification(data.certificationId, 'test')).rejects.toThrow('connection lost in the third chunk');
    } finally {
      spy.mockRestore();
    }
    // Two whole chunks (the certification's 14 lowest learner ids): memberships, exceptions and sources together.
    const stopped = await one(`select id, finished_at from sync_run where certification_id = $1 order by id desc limit 1`, [
      data.certificationId,
    ]);
    expect(stopped.finished_at).toBeNull();
    const firstFourteen = await one(
      `select array_agg(learner_id order by learner_id) as ids from
         (select learner_id from audience_member where audience_id = $1 order by learner_id limit 14) l`,
      [data.audienceId],
    );
    const members = await one(
      `select array_agg(learner_id order by learner_id) as ids from membership where certification_id = $1 and removed_at is null`,
      [data.certificationId],
    );
    expect(members.ids).toEqual(firstFourteen.ids);
    const partial = await counts(data.certificationId);
    expect(partial).toMatchObject({ members: 14, mismatched: 0, sources: 14 });
    expect(await one(`select count(*)::int as n from exception where sync_run_id = $1`, [stopped.id])).toEqual({ n: partial.open });
    expect(partial.open).toBeGreaterThan(0);
    expect(await notices(data.certificationId)).toHaveLength(0);

    // The next run does the rest; its notice tells the exceptions of both runs.
    const result = (await sync.syncCertification(data.certificationId, 'test'))!;
    expect(result.stats.added).toBe(86);
    expect(await counts(data.certificationId)).toEqual({ members: 100, assigned: 15, open: 85, mismatched: 0, sources: 100 });
    expect(result.notice).toMatchObject({ sent: 1 });
    const sent = await notices(data.certificationId);
    expect(sent).toHaveLength(1);
    expect(sent[0].body_text).toContain('has 85 new exceptions.');
  });
});
