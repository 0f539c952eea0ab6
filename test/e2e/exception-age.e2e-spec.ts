import { parse } from 'csv-parse/sync';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { mainText, startTestApp, TestApp, TestClient } from '../support/app';
import { waitForState } from '../support/bulk';

const FINISHED = ['completed', 'completed_with_failures', 'failed'];

const ZONE = 'Pacific/Auckland';

function rowIds(html: string): number[] {
  return [...html.matchAll(/name="ids" value="(\d+)"/g)].map((m) => Number(m[1]));
}

function linkHref(html: string, rel: string): string | null {
  const match = new RegExp(`href="([^"]+)"(?: rel="${rel}")`).exec(html);
  return match ? match[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=') : null;
}

/**
 * Seven duplicate course exceptions, in learner order, raised at the edges of the age buckets on
 * Auckland's calendar (the reader's zone, far from UTC); the 60 time allowance ones are 40 days old.
 */
const RAISED = [
  { days: 0, at: `start(0)`, text: 'Today' },
  { days: 1, at: `start(0) - interval '1 minute'`, text: 'Yesterday' },
  { days: 7, at: `start(7)`, text: '7 days ago' },
  { days: 8, at: `start(7) - interval '1 minute'`, text: '8 days ago' },
  { days: 12, at: `start(12) + interval '12 hours'`, text: '12 days ago' },
  { days: 30, at: `start(30)`, text: '30 days ago' },
  { days: 31, at: `start(30) - interval '1 minute'`, text: '31 days ago' },
];

/** SQL for the first instant of the Auckland day `n` days before today. */
function startSql(n: number): string {
  return `((date_trunc('day', now() at time zone '${ZONE}') - make_interval(days => ${n})) at time zone '${ZONE}')`;
}

describe('the Exception report by age', () => {
  let t: TestApp;
  let admin: TestClient;
  let f: ExceptionFixture;
  let base: string;
  let aged: number[];

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
    await t.db.query(`update staff set time_zone = $1 where username = 'ada'`, [ZONE]);
    admin = await t.signedIn('ada');
    f = await createExceptionFixture(t.db, { prefix: 'AG', counts: { time_allowance: 60, duplicate_course: 7 } });
    base = `/certifications/${f.certificationId}/exceptions`;
    aged = f.exceptionIds.duplicate_course;
    for (const [i, raised] of RAISED.entries()) {
      const at = raised.at.replace(/start\((\d+)\)/g, (_, n: string) => startSql(Number(n)));
      await t.db.query(`update exception set raised_at = ${at} where id = $1`, [aged[i]]);
    }
    await t.db.query(`update exception set raised_at = ${startSql(40)} + make_interval(secs => id % 1000) where id = any($1::bigint[])`, [
      f.exceptionIds.time_allowance,
    ]);
  });
  afterAll(() => t.close());

  it('says in the Raised cell how long ago, on the reader’s calendar, beside the date', async () => {
    const text = mainText((await admin.get(`${base}?type=duplicate_course`)).text);
    for (const [i, raised] of RAISED.entries()) {
      const idNumber = `AG${String(61 + i).padStart(6, '0')}`;
      expect(text).toMatch(
        new RegExp(`${idNumber} Duplicate course duplicate_course evidence ${raised.text} \\d{1,2} [A-Z][a-z]{2,3} \\d{4}`),
      );
    }
  });

  it('offers the age filter with a label and the four buckets', async () => {
    const html = (await admin.get(base)).text;
    expect(html).toContain('<label class="app-label" for="age">Age</label>');
    expect(html).toMatch(/<select class="app-select" id="age" name="age">\s*<option value="">Any age<\/option>/);
    for (const [value, label] of [
      ['today', 'Raised today'],
      ['week', '1 to 7 days ago'],
      ['month', '8 to 30 days ago'],
      ['older', 'More than 30 days ago'],
    ]) {
      expect(html).toContain(`<option value="${value}">${label}</option>`);
    }
    expect((await admin.get(`${base}?age=week`)).text).toContain('<option value="week" selected>1 to 7 days ago</option>');
  });

  it('shows exactly the rows of each bucket, with their counts, at the edges of the reader’s days', async () => {
    const expected: Record<string, number[]> = {
      today: [aged[0]],
      week: [aged[1], aged[2]],
      month: [aged[3], aged[4], aged[5]],
    };
    for (const [age, ids] of Object.entries(expected)) {
      const res = await admin.get(`${base}?age=${age}`);
      expect(res.status).toBe(200);
      expect(rowIds(res.text)).toEqual(ids);
      const text = mainText(res.text);
      expect(text).toContain(`${ids.length} open exception${ids.length === 1 ? '' : 's'} match your search`);
      expect(res.text).toMatch(new RegExp(`<option value="all"[^>]*data-count="${ids.length}"`));
      expect(res.text).toMatch(new RegExp(`<option value="duplicate_course"[^>]*data-count="${ids.length}"`));
      expect(res.text).not.toMatch(/<option value="time_allowance"[^>]*data-count/);
    }
    const older = await admin.get(`${base}?age=older`);
    expect(mainText(older.text)).toContain('61 open exceptions match your search');
    expect(older.text).toContain('Open exceptions raised more than 30 days ago</caption>');
    expect(older.text).toMatch(/<option value="time_allowance"[^>]*data-count="60"/);
    expect(older.text).toMatch(/<option value="duplicate_course"[^>]*data-count="1"/);

    const withType = await admin.get(`${base}?age=older&type=duplicate_course`);
    expect(rowIds(withType.text)).toEqual([aged[6]]);
    expect(mainText(withType.text)).toContain('1 open exception match your search');
  });

  it('ignores an age it does not know, like the other filters', async () => {
    for (const age of ['ancient', 'TODAY', '7', '']) {
      const res = await admin.get(`${base}?age=${age}`);
      expect(res.status).toBe(200);
      expect(mainText(res.text)).toContain('67 open exceptions.');
      expect(res.text).not.toContain('match your search');
    }
  });

  it('pages by keyset through every row of a bucket, keeping the filter and the order', async () => {
    const seen: number[] = [];
    let url: string | null = `${base}?age=older&sort=raised`;
    while (url) {
      const res = await admin.get(url);
      seen.push(...rowIds(res.text));
      url = linkHref(res.text, 'next');
      if (url) expect(url).toContain('age=older');
    }
    expect(seen).toHaveLength(61);
    expect(new Set(seen).size).toBe(61);
    expect(seen).not.toContain(aged[5]);
    // Raised ascending: the oldest first, so the 40-day-old exceptions come before the 31-day-old one.
    expect(seen[60]).toBe(aged[6]);

    const sorted = await admin.get(`${base}?age=older&sort=raised`);
    expect(sorted.text).toContain('(sorted ascending, oldest first)');
    expect(linkHref(sorted.text, 'next')).toContain('sort=raised');
    expect((await admin.get(`${base}?sort=raised&dir=desc`)).text).toContain('(sorted descending, newest first)');
  });

  it('downloads the CSV with an Age (days) column, honouring the age filter from the page’s link', async () => {
    const all: string[][] = parse((await admin.get(`${base}.csv?type=duplicate_course`)).text);
    expect(all[0]).toEqual(['Learner', 'ID number', 'Issue', 'Details', expect.stringMatching(/^Raised/), 'Age (days)']);
    expect(all.slice(1).map((r) => Number(r[5]))).toEqual(RAISED.map((r) => r.days));

    const page = await admin.get(`${base}?age=month`);
    const csvLink = /href="([^"]+)" download>Download CSV/
      .exec(page.text)![1]
      .replace(/&amp;/g, '&')
      .replace(/&#x3D;/g, '=');
    expect(csvLink).toBe(`${base}.csv?age=month`);
    const month: string[][] = parse((await admin.get(csvLink)).text);
    expect(month.slice(1).map((r) => [r[1], r[5]])).toEqual([
      ['AG000064', '8'],
      ['AG000065', '12'],
      ['AG000066', '30'],
    ]);
    const bad: string[][] = parse((await admin.get(`${base}.csv?age=nonsense`)).text);
    expect(bad).toHaveLength(68);
  });

  it('acts by condition only on the exceptions of the age filter, as the confirmation says', async () => {
    const refused = await admin.post(`${base}/bulk`, { select: 'time_allowance', action: 'do_not_assign', age: 'month' });
    expect(refused.status).toBe(400);
    expect(mainText(refused.text)).toContain('No open exceptions match this selection');
    expect(refused.text).toContain('<option value="month" selected>8 to 30 days ago</option>');

    const cont = await admin.post(`${base}/bulk`, { select: 'all', action: 'do_not_assign', age: 'month' });
    expect(cont.status).toBe(303);
    expect(cont.headers.location).toContain('age=month');
    const token = /confirm\/([0-9a-f-]{36})/.exec(cont.headers.location)![1];
    const draft = (await t.db.query('select selection from bulk_action_draft where token = $1', [token])).rows[0].selection;
    expect(draft.filter.age).toEqual({
      bucket: 'month',
      raisedFrom: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/),
      raisedBefore: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000Z$/),
    });
    const confirm = await admin.get(cont.headers.location);
    const confirmText = mainText(confirm.text);
    expect(confirmText).toContain('This will affect 3 learners');
    expect(confirmText).toContain('All learners raised 8 to 30 days ago');
    expect(confirm.text).toContain('<input type="hidden" name="age" value="month">');

    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    expect(ok.status).toBe(303);
    const id = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    expect(await waitForState(t.db, id, FINISHED, 30000, () => 'waiting for the age-filtered bulk action')).toMatchObject({
      state: 'completed',
      total: 3,
      applied: 3,
    });
    const { rows } = await t.db.query(`select id from exception where certification_id = $1 and status <> 'open' order by id`, [
      f.certificationId,
    ]);
    expect(rows.map((r: { id: string }) => Number(r.id))).toEqual([aged[3], aged[4], aged[5]]);
    expect(mainText((await admin.get(base)).text)).toContain('64 open exceptions.');
    expect(rowIds((await admin.get(`${base}?age=month`)).text)).toEqual([]);
  });
});
