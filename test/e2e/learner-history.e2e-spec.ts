import { createExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';

async function waitForFinish(t: TestApp, bulkActionId: number, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.db.query('select state from bulk_action where id = $1', [bulkActionId]);
    if (['completed', 'completed_with_failures', 'failed'].includes(rows[0].state)) return rows[0].state;
    if (Date.now() > deadline) throw new Error(`bulk action ${bulkActionId} still ${rows[0].state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The learner page's exception history tables: caption and rows of cell text. */
function historyTables(html: string): Array<{ caption: string; rows: string[][] }> {
  return [...html.matchAll(/<table class="app-table">([\s\S]*?)<\/table>/g)]
    .map((m) => ({
      caption: mainText(/<caption[^>]*>([\s\S]*?)<\/caption>/.exec(m[1])?.[1] ?? ''),
      rows: [...(/<tbody>([\s\S]*?)<\/tbody>/.exec(m[1])?.[1] ?? '').matchAll(/<tr[\s\S]*?<\/tr>/g)].map((r) =>
        [...r[0].matchAll(/<t[hd][\s\S]*?<\/t[hd]>/g)].map((c) => mainText(c[0])),
      ),
    }))
    .filter((table) => table.caption.startsWith('Exception history'));
}

describe('the exception history on the learner page', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', undefined, 'Ada Lovelace');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
  });
  afterAll(() => t.close());

  it('lists every membership, active and removed, with each exception raised, its status, when and by whom it was handled and why', async () => {
    const active = await createExceptionFixture(t.db, { prefix: 'HI', shortName: 'Fire', counts: { duplicate_course: 1 } });
    const {
      rows: [learner],
    } = await t.db.query(`select id from learner where id_number = 'HI000001'`);
    await t.db.query(`update certification set full_name = 'Fire Safety' where id = $1`, [active.certificationId]);
    await t.db.query(`update exception set raised_at = '2026-02-03T09:00:00Z' where id = $1`, [active.exceptionIds.duplicate_course[0]]);

    // Dismiss it through the Exception report, as an administrator would.
    const cont = await admin.post(`/certifications/${active.certificationId}/exceptions/bulk`, {
      select: 'none',
      ids: String(active.exceptionIds.duplicate_course[0]),
      action: 'dismiss',
      reason: 'Old record from the previous system',
    });
    expect(cont.status).toBe(303);
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    const bulkId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    expect(await waitForFinish(t, bulkId)).toBe('completed');
    // A later exception on the same membership, still open.
    await t.db.query(
      `insert into exception (membership_id, certification_id, learner_id, type, summary, raised_at)
       select id, certification_id, learner_id, 'time_allowance', 'x', '2026-03-10T09:00:00Z' from membership where learner_id = $1`,
      [learner.id],
    );

    // A removed membership in another certification, its exception resolved by membership sync.
    const {
      rows: [removedCert],
    } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Manual Handling', 'MH', 1, 'year', 1, 'month') returning id`,
    );
    const {
      rows: [removed],
    } = await t.db.query(
      `insert into membership (certification_id, learner_id, removed_at) values ($1, $2, '2026-01-20T00:00:00Z') returning id`,
      [removedCert.id, learner.id],
    );
    await t.db.query(
      `insert into exception (membership_id, certification_id, learner_id, type, summary, raised_at, status, handled_at, reason)
       values ($1, $2, $3, 'unknown', 'x', '2026-01-05T09:00:00Z', 'resolved', '2026-01-20T00:00:00Z', 'No longer assigned to the certification')`,
      [removed.id, removedCert.id, learner.id],
    );
    // A third certification without exceptions.
    const {
      rows: [quietCert],
    } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Data Protection', 'DP', 1, 'year', 1, 'month') returning id`,
    );
    await t.db.query(`insert into membership (certification_id, learner_id) values ($1, $2)`, [quietCert.id, learner.id]);

    const page = await viewer.get(`/learners/${learner.id}`);
    expect(page.status).toBe(200);
    const text = mainText(page.text);
    expect(text).toContain('Memberships and exception history');
    const today = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(new Date());

    const tables = historyTables(page.text);
    expect(tables).toEqual([
      {
        caption: 'Exception history in Fire Safety: 2 exceptions',
        rows: [
          ['10 Mar 2026', 'Time allowance', 'Open', 'Not handled yet', '', 'No reason given'],
          ['3 Feb 2026', 'Duplicate course', 'Dismissed', today, 'Ada Lovelace', 'Old record from the previous system'],
        ],
      },
      {
        caption: 'Exception history in Manual Handling: 1 exception',
        rows: [['5 Jan 2026', 'Unknown', 'Resolved', '20 Jan 2026', 'Certex (automatic)', 'No longer assigned to the certification']],
      },
    ]);
    // Active memberships first, each named; the removed one says when it was removed.
    const history = text.slice(text.indexOf('Memberships and exception history'), text.indexOf('Course completions'));
    expect(history.indexOf('Data Protection')).toBeGreaterThan(-1);
    expect(history.indexOf('Fire Safety')).toBeLessThan(history.indexOf('Manual Handling'));
    expect(history.indexOf('Data Protection')).toBeLessThan(history.indexOf('Manual Handling'));
    expect(history).toContain('Data Protection Active membership. No exceptions have been raised for this membership.');
    expect(history).toContain('Manual Handling Removed from this certification on 20 Jan 2026.');
  });

  it('says so when the learner has never been in a certification', async () => {
    const {
      rows: [learner],
    } = await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email) values ('NV1', 'nv1', 'Nora', 'Never', 'nv1@example.org') returning id`,
    );
    const text = mainText((await admin.get(`/learners/${learner.id}`)).text);
    expect(text).toContain('Nora Never has never been in a certification.');
  });
});
