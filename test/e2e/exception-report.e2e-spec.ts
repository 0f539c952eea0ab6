import { parse } from 'csv-parse/sync';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';

function rowIds(html: string): number[] {
  return [...html.matchAll(/name="ids" value="(\d+)"/g)].map((m) => Number(m[1]));
}

function linkHref(html: string, rel: string): string | null {
  const match = new RegExp(`href="([^"]+)"(?: rel="${rel}")`).exec(html);
  return match ? match[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=') : null;
}

describe('the Exception report tab', () => {
  let t: TestApp;
  let admin: TestClient;
  let f: ExceptionFixture;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    f = await createExceptionFixture(t.db, {
      counts: { time_allowance: 60, duplicate_course: 7, completion_time_unknown: 4, unknown: 2 },
    });
  });
  afterAll(() => t.close());

  it('lists open exceptions with Learner, ID number, Issue and Raised, and shows the open count in the tab', async () => {
    const res = await admin.get(`/certifications/${f.certificationId}/exceptions`);
    expect(res.status).toBe(200);
    expect(res.text).toContain(`Exception report (73)</a>`);
    expect(res.text).toMatch(/aria-current="page">Exception report \(73\)/);
    for (const header of ['Learner', 'ID number', 'Issue', 'Raised']) expect(res.text).toContain(`>${header}`);
    expect(rowIds(res.text)).toHaveLength(50);
    const text = mainText(res.text);
    expect(text).toContain('Pat L000001 L000001 Time allowance time_allowance evidence');
    expect(text).toContain('73 open exceptions');
  });

  it('pages by keyset through every row, forwards and from the last page backwards', async () => {
    const seen: number[] = [];
    let url: string | null = `/certifications/${f.certificationId}/exceptions`;
    while (url) {
      const res = await admin.get(url);
      seen.push(...rowIds(res.text));
      url = linkHref(res.text, 'next');
    }
    expect(seen).toHaveLength(73);
    expect(new Set(seen).size).toBe(73);

    const last = await admin.get(`/certifications/${f.certificationId}/exceptions?page=last`);
    const lastIds = rowIds(last.text);
    expect(lastIds).toEqual(seen.slice(-50));
    const previous = await admin.get(linkHref(last.text, 'prev')!);
    expect(rowIds(previous.text)).toEqual(seen.slice(0, 23));
  });

  it('sorts by each column both ways and keeps the sort while paging', async () => {
    const base = `/certifications/${f.certificationId}/exceptions`;
    const byIdDesc = await admin.get(`${base}?sort=idnumber&dir=desc`);
    expect(byIdDesc.text).toMatch(/aria-sort="descending"[\s\S]*?ID number/);
    const ids = rowIds(byIdDesc.text);
    expect(ids[0]).toBe(f.exceptionIds.unknown[1]);
    const next = linkHref(byIdDesc.text, 'next')!;
    expect(next).toContain('sort=idnumber');
    expect(next).toContain('dir=desc');

    const byIssue = await admin.get(`${base}?sort=issue`);
    expect(rowIds(byIssue.text).slice(0, 4)).toEqual(f.exceptionIds.completion_time_unknown);

    const byRaised = await admin.get(`${base}?sort=raised`);
    const raisedAll: number[] = [...rowIds(byRaised.text), ...rowIds((await admin.get(linkHref(byRaised.text, 'next')!)).text)];
    expect(raisedAll).toHaveLength(73);
    expect(new Set(raisedAll).size).toBe(73);
  });

  it('searches by name or ID number and filters by type', async () => {
    const base = `/certifications/${f.certificationId}/exceptions`;
    // Learners 1–60 have time allowance issues, 61–67 duplicate course, 68–71 completion time unknown.
    const search = await admin.get(`${base}?q=L00006`);
    const expected = [
      f.exceptionIds.time_allowance[59],
      ...f.exceptionIds.duplicate_course,
      ...f.exceptionIds.completion_time_unknown.slice(0, 2),
    ];
    expect(rowIds(search.text).sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    const byName = await admin.get(`${base}?q=${encodeURIComponent('pat l00007')}`);
    expect(rowIds(byName.text)).toHaveLength(4);
    const filtered = await admin.get(`${base}?type=duplicate_course`);
    expect(rowIds(filtered.text).sort((a, b) => a - b)).toEqual([...f.exceptionIds.duplicate_course].sort((a, b) => a - b));
    expect(mainText(filtered.text)).toContain('7 open exceptions match your search');
    const none = await admin.get(`${base}?q=nobody-like-this`);
    expect(mainText(none.text)).toContain('No open exceptions match your search.');
  });

  it('finds a renamed learner by the new name and ID number, and no longer by the old ones', async () => {
    const renamed = await createExceptionFixture(t.db, { counts: { time_allowance: 2 }, prefix: 'RN', shortName: 'Rename' });
    const base = `/certifications/${renamed.certificationId}/exceptions`;
    const search = async (q: string) => rowIds((await admin.get(`${base}?q=${encodeURIComponent(q)}`)).text);
    const [first, second] = renamed.exceptionIds.time_allowance;
    expect(await search('pat rn000001')).toEqual([first]);

    await t.db.query(`update learner set first_name = 'Grace', last_name = 'Hopper', id_number = 'GH-1906' where id_number = 'RN000001'`);
    expect(await search('grace hopper')).toEqual([first]);
    expect(await search('HOPPER')).toEqual([first]);
    expect(await search('gh-1906')).toEqual([first]);
    expect(await search('pat rn000001')).toEqual([]);
    expect(await search('RN00000')).toEqual([second]);
    const csv: string[][] = parse((await admin.get(`${base}.csv?q=hopper`)).text);
    expect(csv.slice(1).map((r) => [r[0], r[1]])).toEqual([['Grace Hopper', 'GH-1906']]);
  });

  it('counts a search up to 1,000 matches and says "more than 1,000" beyond, with the exact count on confirmation', async () => {
    const many = await createExceptionFixture(t.db, { counts: { time_allowance: 1001 }, prefix: 'MANY', shortName: 'Many' });
    const base = `/certifications/${many.certificationId}/exceptions`;
    // MANY000001 … MANY000999 share "many000"; MANY001000 and MANY001001 do not.
    const some = await admin.get(`${base}?q=many000`);
    expect(mainText(some.text)).toContain('999 open exceptions match your search');
    expect(mainText(some.text)).toContain('1–50 of 999');
    expect(mainText(some.text)).toContain('All time allowance issues: 999 learners');
    expect(some.text).toMatch(/<option value="all"[^>]*data-count="999"/);

    const all = await admin.get(`${base}?q=many`);
    const text = mainText(all.text);
    expect(text).toContain('More than 1,000 open exceptions match your search');
    expect(text).toContain('Showing 1–50');
    expect(text).not.toMatch(/ of 1,00\d/);
    expect(text).toContain('All learners: more than 1,000 learners');
    expect(all.text).toMatch(/<option value="all"[^>]*data-count-text="More than 1,000 learners selected"/);
    expect(all.text).toMatch(/<option value="time_allowance"[^>]*data-count-text="Learners selected: counted when you continue"/);
    expect(all.text).not.toContain('data-count="');

    const cont = await admin.post(`${base}/bulk`, { q: 'many', select: 'all', action: 'do_not_assign' });
    expect(cont.status).toBe(303);
    const confirm = await admin.get(cont.headers.location);
    expect(mainText(confirm.text)).toContain('This will affect 1,001 learners');
  });

  it('pages a search in name order and in issue order through every match, in order, by keyset', async () => {
    // Learners ORD000001–040 have unknown issues and 041–110 time allowance ones; name order is ID order.
    const ordered = await createExceptionFixture(t.db, { counts: { unknown: 40, time_allowance: 70 }, prefix: 'ORD', shortName: 'Order' });
    const base = `/certifications/${ordered.certificationId}/exceptions`;
    const inNameOrder = [...ordered.exceptionIds.unknown, ...ordered.exceptionIds.time_allowance];
    const inIssueOrder = [...ordered.exceptionIds.time_allowance, ...ordered.exceptionIds.unknown];
    for (const [sort, expected] of [
      ['learner', inNameOrder],
      ['issue', inIssueOrder],
    ] as const) {
      const seen: number[] = [];
      let url: string | null = `${base}?q=ord&sort=${sort}`;
      while (url) {
        const res = await admin.get(url);
        seen.push(...rowIds(res.text));
        url = linkHref(res.text, 'next');
      }
      expect(seen).toEqual(expected);
      const last = await admin.get(`${base}?q=ord&sort=${sort}&dir=desc`);
      expect(rowIds(last.text)).toEqual([...expected].reverse().slice(0, 50));
    }
  });

  it('offers Select options None, All learners and one per type present, and the four actions', async () => {
    const res = await admin.get(`/certifications/${f.certificationId}/exceptions`);
    const select = /<select[^>]*id="select"[\s\S]*?<\/select>/.exec(res.text)![0];
    expect([...select.matchAll(/<option[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual([
      'None',
      'All learners',
      'All time allowance issues',
      'All duplicate course issues',
      'All completion time unknown issues',
      'All unknown issues',
    ]);
    const action = /<select[^>]*id="action"[\s\S]*?<\/select>/.exec(res.text)![0];
    expect([...action.matchAll(/<option value="[a-z_]+"[^>]*>([^<]+)</g)].map((m) => m[1])).toEqual([
      'Assign',
      'Set realistic due date and assign',
      'Do not assign',
      'Dismiss the exception',
    ]);
    expect(res.text).toMatch(/<label class="app-label" for="select">Select<\/label>/);
    expect(res.text).toMatch(/<label class="app-label" for="action">Action<\/label>/);
    expect(res.text).toContain('<span class="app-visually-hidden">Select Pat L000001, ID number L000001</span>');
    expect(mainText(res.text)).toContain('All time allowance issues: 60 learners');
  });

  it('shows a viewer the report without the bulk form', async () => {
    const viewer = await t.signedIn('vic');
    const res = await viewer.get(`/certifications/${f.certificationId}/exceptions`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('name="ids"');
    expect(res.text).not.toContain('>Continue<');
  });

  it("downloads every matching open exception as CSV, in the report's order, with its search and filter", async () => {
    const base = `/certifications/${f.certificationId}/exceptions`;
    const res = await admin.get(`${base}.csv`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="exception-report-[A-Za-z0-9._-]+\.csv"/);
    const table: string[][] = parse(res.text);
    expect(table[0]).toEqual(['Learner', 'ID number', 'Issue', 'Details', 'Raised (UTC)', 'Age (days)']);
    expect(table).toHaveLength(74);
    // Every open exception once, in name order.
    expect(new Set(table.slice(1).map((r) => r[1])).size).toBe(73);
    expect(table[1]).toEqual([
      'Pat L000001',
      'L000001',
      'Time allowance',
      'time_allowance evidence',
      expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
      expect.stringMatching(/^\d+$/),
    ]);
    expect(table.slice(1).map((r) => r[1])).toEqual(
      table
        .slice(1)
        .map((r) => r[1])
        .sort(),
    );

    const filtered: string[][] = parse((await admin.get(`${base}.csv?type=duplicate_course&sort=idnumber&dir=desc`)).text);
    expect(filtered.slice(1).map((r) => r[1])).toEqual(['L000067', 'L000066', 'L000065', 'L000064', 'L000063', 'L000062', 'L000061']);
    expect(filtered.slice(1).every((r) => r[2] === 'Duplicate course')).toBe(true);

    // The page's Download CSV link carries the view.
    const page = await admin.get(`${base}?q=L00006&type=completion_time_unknown`);
    const csvLink = /href="([^"]+)" download>Download CSV/
      .exec(page.text)![1]
      .replace(/&amp;/g, '&')
      .replace(/&#x3D;/g, '=');
    expect(csvLink).toBe(`${base}.csv?q=L00006&type=completion_time_unknown`);
    const searched: string[][] = parse((await admin.get(csvLink)).text);
    expect(searched.slice(1).map((r) => r[1])).toEqual(['L000068', 'L000069']);

    const viewer = await t.signedIn('vic');
    expect((await viewer.get(`${base}.csv`)).status).toBe(200);
    expect((await admin.get('/certifications/999999/exceptions.csv')).status).toBe(404);
  });

  it('shows the first page for a tampered cursor instead of an error', async () => {
    const forged = Buffer.from(JSON.stringify(['not a date', 1])).toString('base64url');
    const res = await admin.get(`/certifications/${f.certificationId}/exceptions?sort=raised&after=${forged}`);
    expect(res.status).toBe(200);
    expect(rowIds(res.text)).toHaveLength(50);
  });
});
