import { createExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';
import { FINISHED, waitForState } from '../support/bulk';

/**
 * A chunk is one statement over the chunk's own rows, reached by index. These bulk actions run in
 * chunks of 7 over exceptions whose ids are neither in the order of their memberships nor apart
 * from another certification's, with a learner who left between Continue and OK: every learner
 * is handled exactly as the action says, once, with the right outcome, audit row and messages, and
 * nothing of the other certification is touched.
 */
describe('bulk action chunks over interleaved exceptions', () => {
  let t: TestApp;
  let admin: TestClient;
  let adminId: number;

  beforeAll(async () => {
    t = await startTestApp({ BULK_CHUNK_SIZE: '7' });
    adminId = await t.createStaff('ada', 'admin');
    admin = await t.signedIn('ada');
  });

  afterAll(() => t?.close());

  /** Two certifications of 30 learners whose exceptions are raised again, interleaved, memberships in reverse order. */
  async function interleaved(prefix: string) {
    const a = await createExceptionFixture(t.db, { prefix: `${prefix}A`, counts: { time_allowance: 30 } });
    const b = await createExceptionFixture(t.db, { prefix: `${prefix}B`, counts: { time_allowance: 30 } });
    await t.db.query(
      `with old as (delete from exception where certification_id = any($1::int[]) returning membership_id, certification_id, learner_id, type)
       insert into exception (membership_id, certification_id, learner_id, type, evidence, summary, raised_at)
       select membership_id, certification_id, learner_id, type, '{}'::jsonb, 'evidence', now()
         from old order by (row_number() over (partition by certification_id order by membership_id desc)), certification_id`,
      [[a.certificationId, b.certificationId]],
    );
    return { a: a.certificationId, b: b.certificationId };
  }

  async function run(certificationId: number, action: string, leaving: number): Promise<number> {
    const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, { select: 'all', action, reason: 'Chunks' });
    expect(cont.status).toBe(303);
    await t.db.query(
      `update membership set removed_at = now()
        where id = (select membership_id from exception where certification_id = $1 order by id offset $2 limit 1)`,
      [certificationId, leaving],
    );
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    expect(ok.status).toBe(303);
    return Number(/(\d+)$/.exec(ok.headers.location)![1]);
  }

  it('interleaves the ids as intended: exception order is neither membership order nor one certification', async () => {
    const { a, b } = await interleaved('IO');
    const { rows } = await t.db.query(
      `select certification_id, membership_id from exception where certification_id = any($1::int[]) order by id limit 4`,
      [[a, b]],
    );
    expect(rows.map((r) => r.certification_id)).toEqual([a, b, a, b]);
    expect(rows[0].membership_id).toBeGreaterThan(rows[2].membership_id);
  });

  it.each([
    ['assign', 'assigned', true],
    ['assign_realistic', 'assigned_realistic', true],
    ['do_not_assign', 'not_assigned', false],
    ['dismiss', 'dismissed', false],
  ])('%s: each learner once, the leaver failed, the other certification untouched', async (action, status, messaged) => {
    const { a, b } = await interleaved(`C${action.slice(0, 3).toUpperCase()}${action.length}`);
    const id = await run(a, action, 11);
    const done = await waitForState(t.db, id, FINISHED, 30000, () => '');
    expect(done).toMatchObject({ state: 'completed_with_failures', total: 30, processed: 30, applied: 29, already_handled: 0, failed: 1 });

    const items = await t.db.query(
      `select i.outcome, i.message, e.status, m.exception_status, m.removed_at is not null as removed,
              (select count(*)::int from exception_audit x where x.exception_id = e.id and x.bulk_action_id = i.bulk_action_id
                  and x.status_after = $2 and x.membership_id = m.id and x.staff_id = $3) as audits,
              (select count(*)::int from outbox o where o.membership_id = m.id and o.kind = 'enrolment') as enrolments
         from bulk_action_item i join exception e on e.id = i.exception_id join membership m on m.id = e.membership_id
        where i.bulk_action_id = $1`,
      [id, status, adminId],
    );
    const applied = items.rows.filter((r) => r.outcome === 'applied');
    expect(applied).toHaveLength(29);
    for (const row of applied) {
      expect(row).toMatchObject({ status, exception_status: status, removed: false, audits: 1, enrolments: messaged ? 1 : 0 });
    }
    expect(items.rows.filter((r) => r.outcome !== 'applied')).toEqual([
      {
        outcome: 'failed',
        message: 'The learner is no longer in this certification',
        status: 'open',
        exception_status: 'open',
        removed: true,
        audits: 0,
        enrolments: 0,
      },
    ]);

    const other = (
      await t.db.query(
        `select (select count(*)::int from exception where certification_id = $1 and status = 'open') as open,
                (select count(*)::int from exception_audit where certification_id = $1) as audits,
                (select count(*)::int from membership where certification_id = $1 and exception_status = 'open' and assigned_at is null) as waiting,
                (select count(*)::int from outbox o join membership m on m.id = o.membership_id where m.certification_id = $1) as messages`,
        [b],
      )
    ).rows[0];
    expect(other).toEqual({ open: 30, audits: 0, waiting: 30, messages: 0 });
  });
});
