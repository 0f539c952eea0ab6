import { parse } from 'csv-parse/sync';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';

interface Row {
  name: string;
  idNumber: string;
  state: string;
  due: string;
  certified: string;
  expires: string;
}

function decode(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#x27;/g, "'")
    .replace(/&#x3D;/g, '=')
    .replace(/&#x60;/g, '`')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** The table rows of a report page. */
function rows(html: string): Row[] {
  return [...html.matchAll(/<tr class="app-table__row"[^>]*>\s*<th[^>]*>([^<]*)<\/th>((?:\s*<td[^>]*>[^<]*<\/td>){5})/g)].map((m) => {
    const cells = [...m[2].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => decode(c[1]));
    return { name: decode(m[1]), idNumber: cells[0], state: cells[1], due: cells[2], certified: cells[3], expires: cells[4] };
  });
}

function ids(html: string): string[] {
  return rows(html).map((r) => r.idNumber);
}

function linkHref(html: string, rel: string): string | null {
  const match = new RegExp(`href="([^"]+)"(?: rel="${rel}")`).exec(html);
  return match ? decode(match[1]) : null;
}

/** The "<State>: <n>" counts at the top, with their links. */
function stateCounts(html: string): Record<string, { count: number; href: string }> {
  const list = /<ul class="app-list" id="state-counts">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  const counts: Record<string, { count: number; href: string }> = {};
  for (const m of list.matchAll(/href="([^"]+)"[^>]*>([^<:]+): ([\d,]+)<\/a>/g)) {
    counts[m[2]] = { count: Number(m[3].replace(/,/g, '')), href: decode(m[1]) };
  }
  return counts;
}

function csvRows(text: string): string[][] {
  return parse(text, { relax_column_count: false });
}

// The hand-arranged learners (ID numbers A001–A011 active, A012 removed), one per lifecycle state and
// exception status. Dates are distinct so that each date sort has one right order.
const day = (n: number) => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000).toISOString();
const ARRANGED = [
  {
    id: 'A001',
    first: 'Ada',
    last: 'Alpha',
    status: 'none',
    state: 'not_certified',
    recorded: true,
    due: day(40),
    certified: null,
    expires: null,
    label: 'Not certified',
  },
  {
    id: 'A002',
    first: 'Ben',
    last: 'Beta',
    status: 'none',
    state: 'certified',
    recorded: true,
    due: day(3),
    certified: day(4),
    expires: day(369),
    label: 'Certified',
  },
  {
    id: 'A003',
    first: 'Cy',
    last: 'Gamma',
    status: 'none',
    state: 'window_open',
    recorded: true,
    due: day(1),
    certified: day(-300),
    expires: day(65),
    label: 'Window open',
  },
  {
    id: 'A004',
    first: 'Di',
    last: 'Delta',
    status: 'none',
    state: 'expired',
    recorded: true,
    due: day(2),
    certified: day(-400),
    expires: day(-35),
    label: 'Expired',
  },
  {
    id: 'A005',
    first: 'Ed',
    last: 'Epsilon',
    status: 'open',
    state: 'not_certified',
    recorded: true,
    due: day(20),
    certified: null,
    expires: null,
    label: 'Exception pending',
  },
  {
    id: 'A006',
    first: 'Fay',
    last: 'Zeta',
    status: 'not_assigned',
    state: 'not_certified',
    recorded: true,
    due: day(10),
    certified: null,
    expires: null,
    label: 'Not assigned',
  },
  {
    id: 'A007',
    first: 'Gil',
    last: 'Eta',
    status: 'dismissed',
    state: 'certified',
    recorded: true,
    due: day(5),
    certified: day(6),
    expires: day(371),
    label: 'Completion not recorded',
  },
  {
    id: 'A008',
    first: 'Hal',
    last: 'Theta',
    status: 'assigned',
    state: 'not_certified',
    recorded: true,
    due: day(30),
    certified: null,
    expires: null,
    label: 'Not certified',
  },
  {
    id: 'A009',
    first: 'Ivy',
    last: 'Iota',
    status: 'assigned_realistic',
    state: 'certified',
    recorded: true,
    due: day(7),
    certified: day(8),
    expires: day(373),
    label: 'Certified',
  },
  {
    id: 'A010',
    first: 'Jo',
    last: 'Kappa',
    status: 'none',
    state: 'certified',
    recorded: false,
    due: null,
    certified: day(9),
    expires: day(374),
    label: 'Completion not recorded',
  },
  {
    id: 'A011',
    first: '=HYPERLINK("x")',
    last: 'Zed',
    status: 'none',
    state: 'not_certified',
    recorded: true,
    due: day(50),
    certified: null,
    expires: null,
    label: 'Not certified',
  },
];
// Name order: last name, then first name.
const BY_NAME = ['A001', 'A002', 'A004', 'A005', 'A007', 'A003', 'A009', 'A010', 'A008', 'A011', 'A006'];

function byDate(key: 'due' | 'certified' | 'expires', dir: 'asc' | 'desc'): string[] {
  // Insertion order is ID order, so the id tie-break of blank dates is ID number order.
  const sorted = [...ARRANGED].sort((a, b) => {
    const x = a[key] ? Date.parse(a[key]) : Infinity;
    const y = b[key] ? Date.parse(b[key]) : Infinity;
    return x === y ? a.id.localeCompare(b.id) : x - y;
  });
  const order = sorted.map((r) => r.id);
  return dir === 'asc' ? order : order.reverse();
}

describe('the Completion report tab', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let certificationId: number;
  let base: string;
  const bulkIds: Record<string, string[]> = { certified: [], not_certified: [] };

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    const { rows: certs } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Fire Safety Awareness', 'FIRE', 1, 'year', 1, 'month') returning id`,
    );
    certificationId = certs[0].id;
    base = `/certifications/${certificationId}/completion`;
    await t.db.query(
      `with learners as (
         insert into learner (id_number, username, first_name, last_name, email)
         select r.id, lower(r.id), r.first, r.last, lower(r.id) || '@example.org'
           from jsonb_to_recordset($2::jsonb) as r(id text, first text, last text)
         returning id, id_number)
       insert into membership (certification_id, learner_id, exception_status, state, completion_recorded, due_at, certified_at, expires_at)
       select $1, l.id, r.status, r.state, r.recorded, r.due, r.certified, r.expires
         from jsonb_to_recordset($2::jsonb) as r(id text, status text, state text, recorded boolean, due timestamptz,
                                                certified timestamptz, expires timestamptz)
         join learners l on l.id_number = r.id
        order by r.id`,
      [certificationId, JSON.stringify(ARRANGED)],
    );
    // A removed membership is not in the report.
    await t.db.query(
      `with l as (insert into learner (id_number, username, first_name, last_name, email)
                  values ('A012', 'a012', 'Rem', 'Removed', 'a012@example.org') returning id)
       insert into membership (certification_id, learner_id, removed_at) select $1, id, now() from l`,
      [certificationId],
    );
    // 100 more learners for paging: odd ones certified, even ones not certified.
    await t.db.query(
      `with learners as (
         insert into learner (id_number, username, first_name, last_name, email)
         select 'B' || lpad(n::text, 4, '0'), 'b' || n, 'Pat', 'B' || lpad(n::text, 4, '0'), 'b' || n || '@example.org'
           from generate_series(1, 100) n
         returning id, id_number)
       insert into membership (certification_id, learner_id, state, due_at, certified_at)
       select $1, id, case when substr(id_number, 2)::int % 2 = 1 then 'certified' else 'not_certified' end,
              now() + make_interval(days => substr(id_number, 2)::int),
              case when substr(id_number, 2)::int % 2 = 1 then now() - interval '1 day' end
         from learners order by id_number`,
      [certificationId],
    );
    for (let n = 1; n <= 100; n++) bulkIds[n % 2 === 1 ? 'certified' : 'not_certified'].push('B' + String(n).padStart(4, '0'));
  });
  afterAll(() => t.close());

  it('shows each membership with the state of its lifecycle and exception status, under the page rules', async () => {
    const res = await admin.get(`${base}?q=A0`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Completion report – Fire Safety Awareness – Certex</title>');
    expect((res.text.match(/<h1[ >]/g) ?? []).length).toBe(1);
    expect(res.text).toMatch(/<caption[^>]*>Learners matching “A0”<\/caption>/);
    for (const header of ['Learner', 'ID number', 'State', 'Due date', 'Certified on', 'Expires on']) {
      expect(res.text).toMatch(new RegExp(`<th scope="col"[^>]*>\\s*<a[^>]*>${header}<`));
    }
    const shown = rows(res.text);
    expect(shown.map((r) => r.idNumber)).toEqual(BY_NAME);
    for (const arranged of ARRANGED) {
      const row = shown.find((r) => r.idNumber === arranged.id)!;
      expect([arranged.id, row.state]).toEqual([arranged.id, arranged.label]);
      expect(row.name).toBe(`${arranged.first} ${arranged.last}`);
    }
    expect(shown.find((r) => r.idNumber === 'A002')).toMatchObject({ due: '4 Jan 2026', certified: '5 Jan 2026', expires: '5 Jan 2027' });
    expect(shown.find((r) => r.idNumber === 'A001')!.certified).toBe('');
    expect(ids((await admin.get(`${base}?q=A012`)).text)).toEqual([]);
    expect(mainText((await admin.get(`${base}?q=A012`)).text)).toContain('No learners match your search.');
  });

  it('counts every active membership per state, each count a link that filters by it', async () => {
    const res = await admin.get(base);
    const counts = stateCounts(res.text);
    expect(Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v.count]))).toEqual({
      'All states': 111,
      'Not certified': 53,
      Certified: 52,
      'Window open': 1,
      Expired: 1,
      'Exception pending': 1,
      'Not assigned': 1,
      'Completion not recorded': 2,
      Exempt: 0,
    });
    const filtered = await admin.get(counts['Completion not recorded'].href);
    expect(filtered.status).toBe(200);
    expect(ids(filtered.text)).toEqual(['A007', 'A010']);
    expect(filtered.text).toMatch(/<option value="completion_not_recorded" selected>/);
    // Under a search, the counts are of the matching learners.
    const searched = stateCounts((await admin.get(`${base}?q=A0`)).text);
    expect(searched['Not certified'].count).toBe(3);
    expect(searched['All states'].count).toBe(11);
  });

  it('filters by each state', async () => {
    for (const [state, label] of [
      ['exception_pending', 'Exception pending'],
      ['not_assigned', 'Not assigned'],
      ['window_open', 'Window open'],
      ['expired', 'Expired'],
    ]) {
      const shown = rows((await admin.get(`${base}?state=${state}`)).text);
      expect(shown.map((r) => r.state)).toEqual([label]);
      expect(shown.map((r) => r.idNumber)).toEqual([ARRANGED.find((a) => a.label === label)!.id]);
    }
    const certified = rows((await admin.get(`${base}?state=certified&q=A0`)).text);
    expect(certified.map((r) => r.idNumber)).toEqual(['A002', 'A009']);
  });

  it('searches by name or ID number', async () => {
    expect(ids((await admin.get(`${base}?q=${encodeURIComponent('fay')}`)).text)).toEqual(['A006']);
    expect(ids((await admin.get(`${base}?q=B0042`)).text)).toEqual(['B0042']);
    expect(ids((await admin.get(`${base}?q=${encodeURIComponent('ivy iota')}`)).text)).toEqual(['A009']);
    expect(ids((await admin.get(`${base}?q=nobody`)).text)).toEqual([]);
  });

  it('sorts by each column both ways, marking the sorted header', async () => {
    const expected: Record<string, string[]> = {
      learner: BY_NAME,
      idnumber: ARRANGED.map((a) => a.id),
      state: [...ARRANGED]
        .sort((a, b) => {
          const key = (x: typeof a) =>
            ({
              'Not certified': 'not_certified',
              Certified: 'certified',
              'Window open': 'window_open',
              Expired: 'expired',
              'Exception pending': 'exception_pending',
              'Not assigned': 'not_assigned',
              'Completion not recorded': 'completion_not_recorded',
            })[x.label]!;
          return key(a) === key(b) ? BY_NAME.indexOf(a.id) - BY_NAME.indexOf(b.id) : key(a) < key(b) ? -1 : 1;
        })
        .map((a) => a.id),
      due: byDate('due', 'asc'),
      certified: byDate('certified', 'asc'),
      expires: byDate('expires', 'asc'),
    };
    const labels: Record<string, string> = {
      learner: 'Learner',
      idnumber: 'ID number',
      state: 'State',
      due: 'Due date',
      certified: 'Certified on',
      expires: 'Expires on',
    };
    for (const [sort, order] of Object.entries(expected)) {
      const asc = await admin.get(`${base}?q=A0&sort=${sort}`);
      expect([sort, ids(asc.text)]).toEqual([sort, order]);
      expect(asc.text).toMatch(new RegExp(`aria-sort="ascending">\\s*<a[^>]*>${labels[sort]}<`));
      const desc = await admin.get(`${base}?q=A0&sort=${sort}&dir=desc`);
      expect([sort, ids(desc.text)]).toEqual([sort, [...order].reverse()]);
      expect(desc.text).toMatch(new RegExp(`aria-sort="descending">\\s*<a[^>]*>${labels[sort]}<`));
    }
    // A header link flips the direction and keeps the search.
    const header = /<a class="app-table__sort" href="([^"]+)">Due date</.exec((await admin.get(`${base}?q=A0&sort=due`)).text)![1];
    expect(decode(header)).toBe(`${base}?q=A0&sort=due&dir=desc`);
  });

  it('pages forwards and from the last page backwards, keeping the filter, search and sort', async () => {
    const expected = [...bulkIds.not_certified, 'A001', 'A008', 'A011'].sort().reverse();
    expect(expected).toHaveLength(53);
    const first = await admin.get(`${base}?state=not_certified&sort=idnumber&dir=desc`);
    expect(ids(first.text)).toEqual(expected.slice(0, 50));
    const next = linkHref(first.text, 'next')!;
    expect(next).toContain('state=not_certified');
    expect(next).toContain('sort=idnumber');
    expect(next).toContain('dir=desc');
    const second = await admin.get(next);
    expect(ids(second.text)).toEqual(expected.slice(50));
    expect(linkHref(second.text, 'next')).toBeNull();

    const lastHref = /href="([^"]+)">Last page</.exec(first.text)![1];
    const last = await admin.get(decode(lastHref));
    expect(ids(last.text)).toEqual(expected.slice(-50));
    const previous = await admin.get(linkHref(last.text, 'prev')!);
    expect(ids(previous.text)).toEqual(expected.slice(0, 3));
    expect(linkHref(last.text, 'prev')).toContain('state=not_certified');

    // Paging by a date with a search: every certified bulk learner once, in due order.
    const seen: string[] = [];
    let url: string | null = `${base}?q=pat&state=certified&sort=due`;
    while (url) {
      const res = await admin.get(url);
      seen.push(...ids(res.text));
      url = linkHref(res.text, 'next');
      if (url) expect(url).toContain('q=pat');
    }
    expect(seen).toEqual(bulkIds.certified);
  });

  it('downloads every matching row as CSV, with the filter, search and sort applied', async () => {
    const res = await admin.get(`${base}.csv?state=not_certified&sort=idnumber&dir=desc`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="completion-report-FIRE.csv"/);
    const table = csvRows(res.text);
    expect(table[0]).toEqual(['Learner', 'ID number', 'State', 'Due date (UTC)', 'Certified on (UTC)', 'Expires on (UTC)']);
    const expected = [...bulkIds.not_certified, 'A001', 'A008', 'A011'].sort().reverse();
    expect(table.slice(1).map((r) => r[1])).toEqual(expected);
    expect(table.slice(1).every((r) => r[2] === 'Not certified')).toBe(true);

    const searchedRes = await admin.get(`${base}?format=csv&q=A0&sort=due`);
    expect(searchedRes.headers['content-type']).toMatch(/^text\/csv/);
    const searched = csvRows(searchedRes.text);
    expect(searched.slice(1).map((r) => r[1])).toEqual(byDate('due', 'asc'));
    expect(searched.find((r) => r[1] === 'A002')).toEqual(['Ben Beta', 'A002', 'Certified', '2026-01-04', '2026-01-05', '2027-01-05']);
    expect(searched.find((r) => r[1] === 'A010')).toEqual(['Jo Kappa', 'A010', 'Completion not recorded', '', '2026-01-10', '2027-01-10']);
    // A formula in a learner's name is neutralised.
    expect(searched.find((r) => r[1] === 'A011')![0]).toBe(`'=HYPERLINK("x") Zed`);
    expect(searchedRes.text).toContain(`"'=HYPERLINK(""x"") Zed"`);
    expect(searchedRes.text).not.toMatch(/(^|,)"?=/m);

    // Every active row with no filter; the page's Download CSV link carries the view.
    const all = csvRows((await admin.get(`${base}.csv`)).text);
    expect(all).toHaveLength(112);
    const page = await admin.get(`${base}?q=A0&state=certified&sort=expires&dir=desc`);
    const csvLink = decode(/href="([^"]+)" download>Download CSV/.exec(page.text)![1]);
    expect(csvLink).toBe(`${base}.csv?q=A0&state=certified&sort=expires&dir=desc`);
    expect(
      csvRows((await admin.get(csvLink)).text)
        .slice(1)
        .map((r) => r[1]),
    ).toEqual(['A009', 'A002']);
  });

  it('lets a viewer read the report and download the CSV', async () => {
    const page = await viewer.get(base);
    expect(page.status).toBe(200);
    expect(ids(page.text)).toHaveLength(50);
    const csv = await viewer.get(`${base}.csv?q=A0`);
    expect(csv.status).toBe(200);
    expect(csvRows(csv.text)).toHaveLength(12);
  });

  it('answers 404 for an unknown certification', async () => {
    expect((await admin.get('/certifications/999999/completion')).status).toBe(404);
    expect((await admin.get('/certifications/999999/completion.csv')).status).toBe(404);
  });

  it('keeps the counts per state exact through every kind of membership change', async () => {
    const live = async () =>
      (
        await t.db.query(
          `select certification_id, report_state, count(*)::int as n from membership where removed_at is null group by 1, 2 order by 1, 2`,
        )
      ).rows;
    const kept = async () =>
      (await t.db.query(`select certification_id, report_state, n from membership_state_count where n <> 0 order by 1, 2`)).rows;
    expect(await kept()).toEqual(await live());
    await t.db.query(
      `update membership set exception_status = 'dismissed' where id = (select min(id) from membership where certification_id = $1 and removed_at is null)`,
      [certificationId],
    );
    await t.db.query(`update membership set state = 'certified' where certification_id = $1 and exception_status = 'none'`, [
      certificationId,
    ]);
    await t.db.query(
      `update membership set removed_at = now() where id = (select max(id) from membership where certification_id = $1 and removed_at is null)`,
      [certificationId],
    );
    expect(await kept()).toEqual(await live());
    await t.db.query(`delete from membership where id = (select min(id) from membership where certification_id = $1)`, [certificationId]);
    expect(await kept()).toEqual(await live());
  });
});
