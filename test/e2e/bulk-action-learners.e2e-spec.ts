import { parse } from 'csv-parse/sync';
import { createExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { FINISHED, waitForState } from '../support/bulk';

function unescapeHref(href: string): string {
  return href
    .replace(/&amp;/g, '&')
    .replace(/&#x3D;/g, '=')
    .split('#')[0];
}

function linkByText(html: string, text: string): string | null {
  const match = new RegExp(`href="([^"]+)"[^>]*>${text}<`).exec(html);
  return match ? unescapeHref(match[1]) : null;
}

/** The rows of the "Learners changed" table: learner link, then the cells as text. */
function changedRows(html: string): Array<{ href: string; cells: string[] }> {
  const table = /<caption[^>]*id="changed-caption"[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(table)?.[1] ?? '';
  return [...tbody.matchAll(/<tr[\s\S]*?<\/tr>/g)].map((row) => ({
    href: /href="([^"]+)"/.exec(row[0])![1],
    cells: [...row[0].matchAll(/<t[hd][\s\S]*?<\/t[hd]>/g)].map((c) => mainText(c[0])),
  }));
}

function position(html: string): string | null {
  return /<p class="app-pagination__position">([^<]+)<\/p>/.exec(html)?.[1] ?? null;
}

const GB_DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

describe('a bulk action’s page lists the learners it changed', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let bulkActionId: number;
  let certificationId: number;
  let leaver: string;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    const f = await createExceptionFixture(t.db, { prefix: 'BL', counts: { time_allowance: 120 } });
    certificationId = f.certificationId;
    // A learner the action fails for (they left before OK) is not among the learners changed.
    const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, {
      select: 'all',
      action: 'assign_realistic',
      reason: 'Late start',
    });
    expect(cont.status).toBe(303);
    const left = await t.db.query(
      `update membership set removed_at = now() where id = (select membership_id from exception where id = $1)
       returning (select id_number from learner where id = membership.learner_id)`,
      [f.exceptionIds.time_allowance[3]],
    );
    leaver = left.rows[0].id_number;
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    bulkActionId = Number(/(\d+)$/.exec(ok.headers.location)![1]);
    const done = await waitForState(t.db, bulkActionId, FINISHED, 30000, () => 'bulk action');
    expect(done).toMatchObject({ state: 'completed_with_failures', applied: 119, failed: 1 });
  });
  afterAll(() => t.close());

  it('shows each learner it applied to with a link, ID number, outcome and the due date before → after from the audit', async () => {
    const page = await viewer.get(`/admin/bulk-actions/${bulkActionId}`);
    expect(page.status).toBe(200);
    const text = mainText(page.text);
    expect(text).toContain('Learners changed');
    expect(text).toContain('Learners that failed');
    const rows = changedRows(page.text);
    expect(rows).toHaveLength(50);
    expect(position(page.text)).toBe('1–50 of 119');

    const audit = await t.db.query(
      `select l.id as learner_id, l.first_name, l.last_name, l.id_number, a.due_before, a.due_after
         from bulk_action_item i join exception e on e.id = i.exception_id join learner l on l.id = e.learner_id
         join exception_audit a on a.exception_id = i.exception_id and a.bulk_action_id = i.bulk_action_id
        where i.bulk_action_id = $1 and i.outcome = 'applied' order by i.exception_id limit 50`,
      [bulkActionId],
    );
    expect(rows.map((r) => r.cells)).toEqual(
      audit.rows.map((a) => [
        `${a.first_name} ${a.last_name}`,
        a.id_number,
        'Applied',
        GB_DATE.format(a.due_before),
        GB_DATE.format(a.due_after),
      ]),
    );
    expect(rows.map((r) => r.href)).toEqual(audit.rows.map((a) => `/learners/${a.learner_id}`));
    // A realistic due date moved the date: the page shows the two different dates.
    expect(audit.rows[0].due_after.getTime()).toBeGreaterThan(audit.rows[0].due_before.getTime());
    expect(rows.map((r) => r.cells[1])).not.toContain(leaver);
  });

  it('pages 50 at a time across every applied learner, saying where the reader is, forward, back and to the last page', async () => {
    const seen: string[] = [];
    const positions: string[] = [];
    let href: string | null = `/admin/bulk-actions/${bulkActionId}`;
    let previous: string | null = null;
    while (href) {
      const page = await admin.get(href);
      expect(page.status).toBe(200);
      seen.push(...changedRows(page.text).map((r) => r.cells[1]));
      positions.push(position(page.text)!);
      previous = linkByText(page.text, 'Previous page') ?? previous;
      href = linkByText(page.text, 'Next page');
    }
    expect(positions).toEqual(['1–50 of 119', '51–100 of 119', '101–119 of 119']);
    expect(new Set(seen).size).toBe(119);
    expect(seen).not.toContain(leaver);
    const back = await admin.get(previous!);
    expect(position(back.text)).toBe('51–100 of 119');
    expect(changedRows(back.text).map((r) => r.cells[1])).toEqual(seen.slice(50, 100));

    const first = await admin.get(`/admin/bulk-actions/${bulkActionId}`);
    const last = await admin.get(linkByText(first.text, 'Last page')!);
    // The last page is the last 50 rows, and going back from it keeps counting from there.
    expect(position(last.text)).toBe('70–119 of 119');
    expect(changedRows(last.text).map((r) => r.cells[1])).toEqual(seen.slice(69));
    const beforeLast = await admin.get(linkByText(last.text, 'Previous page')!);
    expect(position(beforeLast.text)).toBe('20–69 of 119');
    expect(changedRows(beforeLast.text).map((r) => r.cells[1])).toEqual(seen.slice(19, 69));
  });

  it('searches by name or ID number', async () => {
    const { rows } = await t.db.query(
      `select l.id_number, l.first_name, l.last_name from bulk_action_item i join exception e on e.id = i.exception_id
         join learner l on l.id = e.learner_id where i.bulk_action_id = $1 and i.outcome = 'applied' order by i.exception_id offset 70 limit 1`,
      [bulkActionId],
    );
    const wanted = rows[0];
    const byId = await admin.get(`/admin/bulk-actions/${bulkActionId}?q=${encodeURIComponent(wanted.id_number.toLowerCase())}`);
    expect(changedRows(byId.text).map((r) => r.cells[1])).toEqual([wanted.id_number]);
    expect(mainText(byId.text)).toContain(`Learners changed matching “${wanted.id_number.toLowerCase()}”`);
    expect(position(byId.text)).toBe('Showing 1–1');

    const byName = await admin.get(
      `/admin/bulk-actions/${bulkActionId}?q=${encodeURIComponent(`${wanted.first_name} ${wanted.last_name}`)}`,
    );
    expect(changedRows(byName.text).map((r) => r.cells[1])).toEqual([wanted.id_number]);

    const leaverSearch = await admin.get(`/admin/bulk-actions/${bulkActionId}?q=${leaver}`);
    expect(changedRows(leaverSearch.text)).toEqual([]);
    expect(mainText(leaverSearch.text)).toContain('No learners changed by this action match your search.');

    // A search on every learner pages with the search kept, without a total it would have to count.
    const all = await admin.get(`/admin/bulk-actions/${bulkActionId}?q=pat`);
    expect(position(all.text)).toBe('Showing 1–50');
    const next = linkByText(all.text, 'Next page')!;
    expect(next).toContain('q=pat');
    expect(position((await admin.get(next)).text)).toBe('Showing 51–100');
  });

  it('downloads the same rows as CSV, every page of them, with cells made safe', async () => {
    const { rows } = await t.db.query(
      `update learner set first_name = '=HYPERLINK("http://evil.example")' where id = (
         select e.learner_id from bulk_action_item i join exception e on e.id = i.exception_id
          where i.bulk_action_id = $1 and i.outcome = 'applied' order by i.exception_id limit 1) returning id_number`,
      [bulkActionId],
    );
    const page = await admin.get(`/admin/bulk-actions/${bulkActionId}`);
    const csvHref = linkByText(page.text, 'Download CSV')!;
    const csv = await admin.get(csvHref);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`bulk-action-${bulkActionId}-learners.csv`);
    const lines: string[][] = parse(csv.text);
    expect(lines[0]).toEqual(['Learner', 'ID number', 'Outcome', 'Due date before (UTC)', 'Due date after (UTC)']);
    expect(lines).toHaveLength(120);
    const audit = await t.db.query(
      `select l.id_number, to_char(a.due_before at time zone 'UTC', 'YYYY-MM-DD') as before, to_char(a.due_after at time zone 'UTC', 'YYYY-MM-DD') as after
         from bulk_action_item i join exception e on e.id = i.exception_id join learner l on l.id = e.learner_id
         join exception_audit a on a.exception_id = i.exception_id and a.bulk_action_id = i.bulk_action_id
        where i.bulk_action_id = $1 and i.outcome = 'applied' order by i.exception_id`,
      [bulkActionId],
    );
    expect(lines.slice(1).map((l) => [l[1], l[2], l[3], l[4]])).toEqual(audit.rows.map((a) => [a.id_number, 'Applied', a.before, a.after]));
    expect(lines[1]).toEqual([
      `'=HYPERLINK("http://evil.example") ${rows[0].id_number}`,
      rows[0].id_number,
      'Applied',
      audit.rows[0].before,
      audit.rows[0].after,
    ]);

    const searched: string[][] = parse((await admin.get(`/admin/bulk-actions/${bulkActionId}/learners.csv?q=${rows[0].id_number}`)).text);
    expect(searched.map((l) => l[1])).toEqual(['ID number', rows[0].id_number]);
    expect((await admin.get(`/admin/bulk-actions/999999/learners.csv`)).status).toBe(404);
  });
});
