import { parse } from 'csv-parse/sync';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';

function decode(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#x27;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&#x3D;/g, '=')
    .replace(/&#x60;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The report table: header labels and each row's cells as text. */
function table(html: string): { headers: string[]; rows: string[][] } {
  const thead = /<thead>([\s\S]*?)<\/thead>/.exec(html)?.[1] ?? '';
  const headers = [...thead.matchAll(/<th[\s\S]*?<\/th>/g)].map((m) => decode(m[0]).replace(/ \(sorted \w+\)$/, ''));
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  const rows = [...tbody.matchAll(/<tr[\s\S]*?<\/tr>/g)].map((m) =>
    [...m[0].matchAll(/<t[hd][\s\S]*?<\/t[hd]>/g)].map((c) => decode(c[0])),
  );
  return { headers, rows };
}

function unescapeHref(href: string): string {
  return href.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
}

function linkHref(html: string, rel: string): string | null {
  const match = new RegExp(`href="([^"]+)"(?: rel="${rel}")`).exec(html);
  return match ? unescapeHref(match[1]) : null;
}

function linkByText(html: string, text: string): string | null {
  const match = new RegExp(`href="([^"]+)"[^>]*>${text}<`).exec(html);
  return match ? unescapeHref(match[1]) : null;
}

function sortHref(html: string, label: string): string {
  const match = new RegExp(`<a class="app-table__sort" href="([^"]+)">${label}[<]`).exec(html);
  if (!match) throw new Error(`no sort link for ${label}`);
  return unescapeHref(match[1]);
}

function csvRows(text: string): string[][] {
  const rows: string[][] = parse(text);
  return rows;
}

const DEFAULT_HEADERS = ['Learner', 'ID number', 'Assigned by', 'Assigned on', 'Due date'];
/** The CSV's headers name the zone its dates are days of (the site's, UTC, here). */
const CSV_DEFAULT_HEADERS = ['Learner', 'ID number', 'Assigned by', 'Assigned on (UTC)', 'Due date (UTC)'];

async function waitForFinish(t: TestApp, bulkActionId: number, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await t.db.query('select state from bulk_action where id = $1', [bulkActionId]);
    if (['completed', 'completed_with_failures', 'failed'].includes(rows[0].state)) return rows[0].state;
    if (Date.now() > deadline) throw new Error(`bulk action ${bulkActionId} still ${rows[0].state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A bulk action through the Exception report, as a person does it: Continue → confirmation → OK. */
async function act(t: TestApp, client: TestClient, certificationId: number, fields: Record<string, string | string[]>) {
  const cont = await client.post(`/certifications/${certificationId}/exceptions/bulk`, fields);
  expect(cont.status).toBe(303);
  const confirmUrl = cont.headers.location.split('?')[0];
  const ok = await client.post(confirmUrl, {});
  expect(ok.status).toBe(303);
  const id = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
  expect(await waitForFinish(t, id)).toBe('completed');
}

describe('the Membership report tab', () => {
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

  it('shows the Exception status after each of the four actions, and None and Open', async () => {
    const f = await createExceptionFixture(t.db, {
      prefix: 'ST',
      counts: { time_allowance: 2, completion_time_unknown: 1, unknown: 1, duplicate_course: 1 },
    });
    // ST000006: a membership without any exception.
    await t.db.query(
      `with l as (insert into learner (id_number, username, first_name, last_name, email)
                  values ('ST000006', 'st-6', 'Pat', 'ST000006', 'st6@example.org') returning id)
       insert into membership (certification_id, learner_id, due_at) select $1, id, now() + interval '9 days' from l`,
      [f.certificationId],
    );
    const [ta1] = f.exceptionIds.time_allowance;
    await act(t, admin, f.certificationId, { select: 'none', ids: [String(ta1)], action: 'assign', reason: 'Manager agreed' });
    await act(t, admin, f.certificationId, { select: 'completion_time_unknown', action: 'assign_realistic' });
    await act(t, admin, f.certificationId, { select: 'unknown', action: 'do_not_assign' });
    await act(t, admin, f.certificationId, { select: 'duplicate_course', action: 'dismiss', reason: 'Legacy record' });

    const expected: Record<string, string> = {
      ST000001: 'Assigned (overridden)',
      ST000002: 'Open',
      ST000003: 'Assigned with realistic due date',
      ST000004: 'Not assigned',
      ST000005: 'Dismissed',
      ST000006: 'None',
    };
    const base = `/certifications/${f.certificationId}/membership`;
    const res = await viewer.get(`${base}?columns=exception_status,exception_type,handled_by,reason`);
    expect(res.status).toBe(200);
    const { headers, rows } = table(res.text);
    expect(headers).toEqual([...DEFAULT_HEADERS, 'Exception status', 'Exception type', 'Handled by', 'Reason']);
    expect(Object.fromEntries(rows.map((r) => [r[1], r[5]]))).toEqual(expected);
    const byId = Object.fromEntries(rows.map((r) => [r[1], r]));
    expect(byId.ST000001.slice(6)).toEqual(['Time allowance', 'Ada Lovelace', 'Manager agreed']);
    expect(byId.ST000005.slice(6)).toEqual(['Duplicate course', 'Ada Lovelace', 'Legacy record']);
    expect(byId.ST000002.slice(6)).toEqual(['Time allowance', '', '']);
    expect(byId.ST000006.slice(6)).toEqual(['', '', '']);

    // The filter on exception status, for each status.
    const statusOf: Record<string, string> = {
      ST000001: 'assigned',
      ST000002: 'open',
      ST000003: 'assigned_realistic',
      ST000004: 'not_assigned',
      ST000005: 'dismissed',
      ST000006: 'none',
    };
    for (const [idNumber, status] of Object.entries(statusOf)) {
      const filtered = table((await viewer.get(`${base}?status=${status}&columns=exception_status`)).text);
      expect(filtered.rows.map((r) => [r[1], r[5]])).toEqual([[idNumber, expected[idNumber]]]);
    }

    // Exception handled on, State, Certified on and Expires on.
    await t.db.query(
      `update membership set state = 'certified', certified_at = '2026-01-10T08:00:00Z', expires_at = '2027-01-10T08:00:00Z'
        where learner_id = (select id from learner where id_number = 'ST000006')`,
    );
    const today = new Date();
    const todayText = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(today);
    const dated = table((await viewer.get(`${base}?columns=exception_handled_on,state,certified_on,expires_on`)).text);
    expect(dated.headers).toEqual([...DEFAULT_HEADERS, 'Exception handled on', 'State', 'Certified on', 'Expires on']);
    expect(Object.fromEntries(dated.rows.map((r) => [r[1], r.slice(5)]))).toEqual({
      ST000001: [todayText, 'Not certified', '', ''],
      ST000002: ['', 'Exception pending', '', ''],
      ST000003: [todayText, 'Not certified', '', ''],
      ST000004: [todayText, 'Not assigned', '', ''],
      ST000005: [todayText, 'Completion not recorded', '', ''],
      ST000006: ['', 'Certified', '10 Jan 2026', '10 Jan 2027'],
    });
    const datedCsv = csvRows((await viewer.get(`${base}.csv?columns=exception_handled_on,state,certified_on,expires_on&sort=state`)).text);
    expect(datedCsv[0]).toEqual([...CSV_DEFAULT_HEADERS, 'Exception handled on (UTC)', 'State', 'Certified on (UTC)', 'Expires on (UTC)']);
    // Sorted by the stored state: certified, completion_not_recorded, exception_pending, not_assigned, not_certified.
    expect(datedCsv.slice(1).map((r) => [r[1], ...r.slice(5)])).toEqual([
      ['ST000006', '', 'Certified', '2026-01-10', '2027-01-10'],
      ['ST000005', today.toISOString().slice(0, 10), 'Completion not recorded', '', ''],
      ['ST000002', '', 'Exception pending', '', ''],
      ['ST000004', today.toISOString().slice(0, 10), 'Not assigned', '', ''],
      ['ST000001', today.toISOString().slice(0, 10), 'Not certified', '', ''],
      ['ST000003', today.toISOString().slice(0, 10), 'Not certified', '', ''],
    ]);

    // The same words in the CSV.
    const csv = await viewer.get(`${base}.csv?columns=exception_status`);
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csvRows(csv.text);
    expect(lines[0]).toEqual([...CSV_DEFAULT_HEADERS, 'Exception status']);
    expect(Object.fromEntries(lines.slice(1).map((r) => [r[1], r[5]]))).toEqual(expected);
  });

  it('shows Assigned by from the membership’s assignments, on the page and in the CSV', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'AB', counts: { unknown: 3 } });
    const {
      rows: [audience],
    } = await t.db.query(`insert into audience (name) values ('Night shift') returning id`);
    const members = (
      await t.db.query(`select m.id, m.learner_id from membership m where m.certification_id = $1 order by m.learner_sort_name`, [
        f.certificationId,
      ])
    ).rows;
    const {
      rows: [byAudience],
    } = await t.db.query(
      `insert into assignment (certification_id, kind, audience_id, due_rule) values ($1, 'audience', $2, 'none') returning id`,
      [f.certificationId, audience.id],
    );
    const individual = async (learnerId: number) =>
      (
        await t.db.query(
          `insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none') returning id`,
          [f.certificationId, learnerId],
        )
      ).rows[0].id;
    // AB000001 by the audience and individually; AB000002 by the audience; AB000003 individually.
    const ind1 = await individual(members[0].learner_id);
    const ind3 = await individual(members[2].learner_id);
    await t.db.query(`insert into membership_source (membership_id, assignment_id) values ($1, $2), ($1, $3), ($4, $2), ($5, $6)`, [
      members[0].id,
      byAudience.id,
      ind1,
      members[1].id,
      members[2].id,
      ind3,
    ]);
    await t.db.query(`update membership set assigned_at = '2026-03-04T10:00:00Z' where id = $1`, [members[1].id]);

    const base = `/certifications/${f.certificationId}/membership`;
    const page = table((await admin.get(base)).text);
    expect(page.headers).toEqual(DEFAULT_HEADERS);
    expect(page.rows.map((r) => r.slice(1, 4))).toEqual([
      ['AB000001', 'Audience: Night shift, Individual', ''],
      ['AB000002', 'Audience: Night shift', '4 Mar 2026'],
      ['AB000003', 'Individual', ''],
    ]);
    const csv = csvRows((await admin.get(`${base}.csv`)).text);
    expect(csv.slice(1).map((r) => r.slice(1, 4))).toEqual([
      ['AB000001', 'Audience: Night shift, Individual', ''],
      ['AB000002', 'Audience: Night shift', '2026-03-04'],
      ['AB000003', 'Individual', ''],
    ]);
  });

  describe('with 130 memberships', () => {
    let f: ExceptionFixture;
    let base: string;

    beforeAll(async () => {
      f = await createExceptionFixture(t.db, { prefix: 'PG', counts: { time_allowance: 130 } });
      base = `/certifications/${f.certificationId}/membership`;
      // Learners whose ID number ends in 0, 3, 6 or 9 have no exception; due dates descend as ID numbers ascend.
      await t.db.query(
        `update membership m set exception_status = case when l.id_number::text ~ '[0369]$' then 'none' else 'open' end,
                                 due_at = '2027-01-01'::timestamptz - make_interval(days => substr(l.id_number, 3)::int)
           from learner l where l.id = m.learner_id and m.certification_id = $1`,
        [f.certificationId],
      );
      await t.db.query(
        `delete from exception e using membership m where m.id = e.membership_id and m.exception_status = 'none' and m.certification_id = $1`,
        [f.certificationId],
      );
    });

    it('keeps the chosen columns, filter and search in every paging, sorting and CSV link', async () => {
      const open = (
        await t.db.query(`select count(*)::int as n from membership where certification_id = $1 and exception_status = 'open'`, [
          f.certificationId,
        ])
      ).rows[0].n;
      expect(open).toBeGreaterThan(60);
      const start = `${base}?status=open&columns=exception_status&columns=email&q=PG`;
      const seen: string[] = [];
      let url: string | null = start;
      let pages = 0;
      while (url) {
        if (pages > 0) {
          expect(url).toContain('status=open');
          expect(url).toContain('columns=exception_status%2Cemail');
          expect(url).toContain('q=PG');
        }
        const res = await admin.get(url);
        const { headers, rows } = table(res.text);
        expect(headers).toEqual([...DEFAULT_HEADERS, 'Exception status', 'Email']);
        for (const row of rows) expect(row[5]).toBe('Open');
        expect(res.text).toContain('value="exception_status" id="columns-exception_status" checked');
        expect(res.text).toContain('value="email" id="columns-email" checked');
        expect(res.text).not.toContain('value="state" id="columns-state" checked');
        seen.push(...rows.map((r) => r[1]));
        url = linkHref(res.text, 'next');
        pages += 1;
      }
      expect(pages).toBe(2);
      expect(seen).toHaveLength(open);
      expect([...seen].sort()).toEqual(seen);

      // The last page and back again, still filtered and with the columns.
      const first = await admin.get(start);
      const lastHref = linkByText(first.text, 'Last page')!;
      expect(lastHref).toContain('page=last');
      expect(lastHref).toContain('status=open');
      const last = await admin.get(lastHref);
      expect(table(last.text).rows.map((r) => r[1])).toEqual(seen.slice(-50));
      expect(table(last.text).headers).toContain('Email');
      const previous = await admin.get(linkHref(last.text, 'prev')!);
      expect(table(previous.text).rows.map((r) => r[1])).toEqual(seen.slice(0, open - 50));

      // Sorting by Due date descending keeps everything and orders by the due date.
      const dueAsc = sortHref(first.text, 'Due date');
      expect(dueAsc).toContain('status=open');
      expect(dueAsc).toContain('columns=exception_status%2Cemail');
      const dueAscPage = await admin.get(dueAsc);
      expect(table(dueAscPage.text).rows[0][1]).toBe(seen[seen.length - 1]);
      const dueDesc = await admin.get(sortHref(dueAscPage.text, 'Due date'));
      expect(table(dueDesc.text).rows[0][1]).toBe(seen[0]);
      expect(dueDesc.text).toContain('aria-sort="descending"');

      // The CSV: exactly the chosen columns, the filter and the sort, every matching row.
      const csvHref = linkByText(dueDesc.text, 'Download CSV')!;
      expect(csvHref).toContain('/membership.csv?');
      expect(csvHref).toContain('status=open');
      expect(csvHref).toContain('sort=due');
      const csv = await viewer.get(csvHref);
      expect(csv.status).toBe(200);
      expect(csv.headers['content-disposition']).toMatch(/attachment; filename="membership-report-Cert-PG.csv"/);
      const lines = csvRows(csv.text);
      expect(lines[0]).toEqual([...CSV_DEFAULT_HEADERS, 'Exception status', 'Email']);
      expect(lines.slice(1).map((r) => r[1])).toEqual(seen);
      for (const line of lines.slice(1)) {
        expect(line[5]).toBe('Open');
        expect(line[6]).toBe(`${line[1].toLowerCase().replace(/^pg0*/, 'pg')}@example.org`);
      }
    });

    it('sorts by Exception status only when it is shown', async () => {
      const shown = await admin.get(`${base}?columns=exception_status&sort=exception_status&dir=desc`);
      const rows = table(shown.text).rows;
      expect(rows[0][5]).toBe('Open');
      expect(shown.text).toMatch(/aria-sort="descending">\s*<a class="app-table__sort"[^>]*>Exception status/);
      const asc = table((await admin.get(`${base}?columns=exception_status&sort=exception_status`)).text).rows;
      expect(asc[0][5]).toBe('None');
      // Without the column the sort falls back to Learner.
      const hidden = await admin.get(`${base}?sort=exception_status&dir=desc`);
      expect(table(hidden.text).headers).toEqual(DEFAULT_HEADERS);
      expect(table(hidden.text).rows[0][1]).toBe('PG000130');
    });

    it('searches by name or ID number', async () => {
      const res = await admin.get(`${base}?q=PG00012`);
      expect(table(res.text).rows.map((r) => r[1])).toEqual(Array.from({ length: 10 }, (_, i) => `PG00012${i}`));
      const none = await admin.get(`${base}?q=nobody-here`);
      expect(decode(none.text)).toContain('No memberships match your search and filter.');
    });
  });

  it('neutralises a learner named =HYPERLINK("x") in the CSV and shows it as text on the page', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'HY', counts: { unknown: 1 } });
    await t.db.query(
      `update learner set first_name = '=HYPERLINK("x")', last_name = 'Evil', email = '@evil.example' where id_number = 'HY000001'`,
    );
    const base = `/certifications/${f.certificationId}/membership`;
    const page = await admin.get(`${base}?columns=email`);
    expect(page.text).not.toContain('=HYPERLINK("x")');
    expect(table(page.text).rows[0][0]).toBe('=HYPERLINK("x") Evil');
    const csv = await admin.get(`${base}.csv?columns=email`);
    expect(csv.text).toContain(`"'=HYPERLINK(""x"") Evil"`);
    const [, row] = csvRows(csv.text);
    expect(row[0]).toBe(`'=HYPERLINK("x") Evil`);
    expect(row[5]).toBe(`'@evil.example`);
  });

  it('leaves out removed memberships and answers 404 for an unknown certification', async () => {
    const f = await createExceptionFixture(t.db, { prefix: 'RM', counts: { unknown: 2 } });
    await t.db.query(`update membership set removed_at = now() where learner_id = (select id from learner where id_number = 'RM000001')`);
    const page = table((await admin.get(`/certifications/${f.certificationId}/membership`)).text);
    expect(page.rows.map((r) => r[1])).toEqual(['RM000002']);
    expect((await admin.get('/certifications/999999/membership')).status).toBe(404);
    // A forged cursor shows the first page rather than failing.
    for (const cursor of [
      ['x', 'not-an-id'],
      ['not a date', 1],
      [1, 2],
    ]) {
      const after = Buffer.from(JSON.stringify(cursor)).toString('base64url');
      const res = await admin.get(`/certifications/${f.certificationId}/membership?sort=due&after=${after}`);
      expect(res.status).toBe(200);
      expect(table(res.text).rows.map((r) => r[1])).toEqual(['RM000002']);
    }
    expect((await admin.get('/certifications/999999/membership.csv')).status).toBe(404);
  });
});
