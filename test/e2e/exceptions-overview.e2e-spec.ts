import { parse } from 'csv-parse/sync';
import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { mainText, TestApp, TestClient } from '../support/app';
import { FINISHED, waitForState } from '../support/bulk';
import { createExceptionFixture } from '../support/fixtures';
import { startWithStaff } from '../support/pages';
import { dateIn, lastSyncRunId, waitForSyncRun } from '../support/sync';

/** The reader's zone: far from UTC, so that a day on the reader's calendar is not a UTC day. */
const ZONE = 'Pacific/Auckland';
const TYPES = ['time_allowance', 'duplicate_course', 'completion_time_unknown', 'unknown'];
const AGES = ['today', 'week', 'month', 'older'];

/** SQL for the first instant of the Auckland day `n` days before today. */
function startSql(n: number): string {
  return `((date_trunc('day', now() at time zone '${ZONE}') - make_interval(days => ${n})) at time zone '${ZONE}')`;
}

/** Raised times at the edges of the age buckets on the reader's calendar. */
const EDGES = [
  startSql(0),
  `${startSql(0)} - interval '1 minute'`,
  startSql(7),
  `${startSql(7)} - interval '1 minute'`,
  `${startSql(12)} + interval '12 hours'`,
  startSql(30),
  `${startSql(30)} - interval '1 minute'`,
  `${startSql(90)} + interval '7 minutes'`,
];

interface Counts {
  open: number;
  types: number[];
  ages: number[];
  oldest: string;
  unfinished: number;
}

/** The page's text as it is seen, without the words only a screen reader reads. */
const visibleText = (html: string) => mainText(html.replace(/<span class="app-visually-hidden">[^<]*<\/span>/g, ''));

const decode = (href: string) => href.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');

/**
 * The Exceptions overview (GET /exceptions): every certification with open exceptions, its counts
 * by type and by age on the reader's calendar, its oldest open exception and its unfinished bulk
 * actions. Its counts come from counts kept by triggers; every test compares them with a direct
 * count of the exceptions, after each way exceptions are raised, handled, reopened or closed.
 */
describe('the Exceptions overview', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let adminId: number;

  beforeAll(async () => {
    ({ t, admin, viewer, adminId } = await startWithStaff());
    await t.db.query(`update staff set time_zone = $1 where username = 'ada'`, [ZONE]);
  });
  afterAll(() => t.close());

  const one = async (text: string, params: unknown[] = []) => (await t.db.query(text, params)).rows[0];

  /** Every certification with open exceptions, counted from the exceptions themselves, by full name. */
  async function directCounts(): Promise<Map<string, Counts>> {
    const { rows } = await t.db.query(
      `select c.full_name,
              count(*)::int as open,
              ${TYPES.map((type) => `count(*) filter (where e.type = '${type}')::int as ${type}`).join(', ')},
              count(*) filter (where e.raised_at >= ${startSql(0)})::int as today,
              count(*) filter (where e.raised_at >= ${startSql(7)} and e.raised_at < ${startSql(0)})::int as week,
              count(*) filter (where e.raised_at >= ${startSql(30)} and e.raised_at < ${startSql(7)})::int as month,
              count(*) filter (where e.raised_at < ${startSql(30)})::int as older,
              to_char(min(e.raised_at) at time zone '${ZONE}', 'YYYY-MM-DD') as oldest,
              (select count(*) from bulk_action b where b.certification_id = c.id and b.state in ('queued', 'running'))::int as unfinished
         from exception e join certification c on c.id = e.certification_id
        where e.status = 'open'
        group by c.id`,
    );
    return new Map(
      rows.map((r) => [
        r.full_name,
        {
          open: r.open,
          types: TYPES.map((type) => r[type]),
          ages: AGES.map((age) => r[age]),
          oldest: r.oldest,
          unfinished: r.unfinished,
        },
      ]),
    );
  }

  /** The overview's CSV as ada (reader's zone Auckland) downloads it, by full name, in its order. */
  async function overviewCsv(query = ''): Promise<{ header: string[]; rows: string[][]; byName: Map<string, Counts> }> {
    const res = await admin.get(`/exceptions.csv${query}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const table: string[][] = parse(res.text);
    const [header, ...rows] = table;
    const byName = new Map(
      rows.map((r) => [
        r[0],
        {
          open: Number(r[2]),
          types: r.slice(3, 7).map(Number),
          ages: r.slice(7, 11).map(Number),
          oldest: r[11],
          unfinished: Number(r[12]),
        },
      ]),
    );
    return { header, rows, byName };
  }

  /** The overview matches a direct count, and the kept quarter-hour counts match the exceptions exactly. */
  async function expectExact() {
    const [direct, { byName }] = await Promise.all([directCounts(), overviewCsv()]);
    expect(Object.fromEntries(byName)).toEqual(Object.fromEntries(direct));
    const quarters = (text: string) => t.db.query(text).then((r) => r.rows);
    expect(
      await quarters(`select certification_id, type, raised_quarter, n from exception_open_quarter_count where n <> 0 order by 1, 2, 3`),
    ).toEqual(
      await quarters(`select certification_id, type, date_bin('15 minutes', raised_at, timestamptz '2000-01-01 00:00:00+00') as raised_quarter,
                             count(*)::int as n
                        from exception where status = 'open' group by 1, 2, 3 order by 1, 2, 3`),
    );
  }

  async function bulkAction(certificationId: number, select: string, action: string): Promise<number> {
    const cont = await admin.post(`/certifications/${certificationId}/exceptions/bulk`, { select, action, reason: '' });
    expect(cont.status).toBe(303);
    const ok = await admin.post(cont.headers.location.split('?')[0], {});
    expect(ok.status).toBe(303);
    const id = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(ok.headers.location)![1]);
    expect((await waitForState(t.db, id, FINISHED, 30_000, () => '')).state).toBe('completed');
    return id;
  }

  it('says there are no open exceptions when there are none, and the header links to it', async () => {
    const res = await admin.get('/exceptions');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<title>Exceptions – Certex</title>');
    expect(res.text).toContain('<a class="app-nav__link" href="/exceptions" aria-current="page">Exceptions</a>');
    expect(mainText(res.text)).toContain('No open exceptions.');
    expect(res.text).not.toContain('<table');
    expect((await overviewCsv()).rows).toEqual([]);
    expect((await admin.get('/certifications')).text).toContain('<a class="app-nav__link" href="/exceptions">Exceptions</a>');
  });

  it('counts each certification’s open exceptions by type and by age on the reader’s calendar, as a direct count does', async () => {
    const a = await createExceptionFixture(t.db, {
      prefix: 'OA',
      shortName: 'Alpha',
      counts: { time_allowance: EDGES.length, duplicate_course: 3, unknown: 2 },
    });
    for (const [i, at] of EDGES.entries()) {
      await t.db.query(`update exception set raised_at = ${at} where id = $1`, [a.exceptionIds.time_allowance[i]]);
    }
    await t.db.query(`update exception set raised_at = ${startSql(8)} + interval '3 hours' where id = any($1::bigint[])`, [
      a.exceptionIds.duplicate_course,
    ]);
    const b = await createExceptionFixture(t.db, { prefix: 'OB', shortName: 'Beta', counts: { completion_time_unknown: 4 } });
    await t.db.query(`update exception set raised_at = ${startSql(45)} where id = $1`, [b.exceptionIds.completion_time_unknown[0]]);
    await expectExact();
    const { byName, header } = await overviewCsv();
    expect(header).toEqual([
      'Certification',
      'Short name',
      'Open',
      'Time allowance',
      'Duplicate course',
      'Completion time unknown',
      'Unknown',
      'Raised today',
      '1 to 7 days ago',
      '8 to 30 days ago',
      'More than 30 days ago',
      `Oldest open raised (${ZONE})`,
      'Bulk actions unfinished',
    ]);
    // The edges land where the Exception report's age filter puts them (exception-age.e2e-spec).
    expect(byName.get('Alpha certification')).toMatchObject({ open: 13, types: [8, 3, 0, 2], ages: [3, 2, 6, 2] });
    expect(byName.get('Beta certification')).toMatchObject({ open: 4, types: [0, 0, 4, 0], ages: [3, 0, 0, 1] });
  });

  it('links every count to the certification’s Exception report showing exactly that many exceptions', async () => {
    const html = (await admin.get('/exceptions')).text;
    const links = [...html.matchAll(/<a class="app-link" href="(\/certifications\/\d+\/exceptions[^"]*)">([\d,]+)<span/g)];
    expect(links.length).toBeGreaterThanOrEqual(2 * 6);
    for (const [, href, count] of links) {
      const report = await admin.get(decode(href));
      expect(report.status).toBe(200);
      const shown = /id="matching">([\d,]+) open exceptions?/.exec(report.text)?.[1];
      expect({ href, shown }).toEqual({ href, shown: count });
    }
    // Counts of nothing are not links; each link says what it counts and where, for a screen reader.
    expect(html).toContain('<span class="app-visually-hidden"> open exceptions raised 1 to 7 days ago in Alpha certification</span>');
    expect(visibleText(html)).toMatch(/Beta certification 4 0 0 4 0 3 0 0 1 45 days ago/);
    // The oldest leads to the report sorted by Raised, oldest first.
    const alpha = (await one(`select id from certification where short_name = 'Alpha'`)).id;
    expect(html).toContain(`href="/certifications/${alpha}/exceptions?sort&#x3D;raised"`);
  });

  it('stays exact as sync raises exceptions, a bulk action handles them, a reopening brings them back, a learner leaves and a re-check resolves them', async () => {
    const course = (await one(`insert into course (short_name, full_name) values ('OV1', 'Overview course') returning id`)).id;
    const cert = (
      await one(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ('Gamma certification', 'Gamma', 1, 'year', 1, 'month', 30, 0) returning id`,
      )
    ).id;
    const set = (
      await one(
        `insert into course_set (certification_id, path, position, name, completion_rule, min_days, joiner)
         values ($1, 'certification', 1, 'Core', 'all', 30, 'and') returning id`,
        [cert],
      )
    ).id;
    await t.db.query(`insert into course_set_course (course_set_id, course_id) values ($1, $2)`, [set, course]);
    const learners = (
      await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email)
         select 'OG' || n, 'og' || n, 'Gail', 'Learner' || n, 'og' || n || '@example.org' from generate_series(1, 6) n returning id`,
      )
    ).rows.map((r) => r.id as number);
    const audience = (await one(`insert into audience (name) values ('Gamma audience') returning id`)).id;
    for (const l of learners) await t.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audience, l]);
    await t.db.query(
      `insert into assignment (certification_id, kind, audience_id, due_rule, due_fixed_at) values ($1, 'audience', $2, 'fixed', $3)`,
      [cert, audience, dateIn(10)],
    );

    // Sync raises six time allowance exceptions today.
    await t.app.get(MembershipSyncService).syncCertification(cert, 'arranged');
    await expectExact();
    expect((await overviewCsv()).byName.get('Gamma certification')).toMatchObject({ open: 6, types: [6, 0, 0, 0], ages: [6, 0, 0, 0] });

    // A bulk action dismisses them all: the certification leaves the overview.
    const dismissed = await bulkAction(cert, 'all', 'dismiss');
    await expectExact();
    expect((await overviewCsv()).byName.has('Gamma certification')).toBe(false);

    // Reopening them brings them back, raised when they were.
    const reopen = await admin.post(`/admin/bulk-actions/${dismissed}/reopen`, { reason: '' });
    expect(reopen.status).toBe(303);
    const reopened = await admin.post(reopen.headers.location.split('?')[0], {});
    const reopenId = Number(/\/admin\/bulk-actions\/(\d+)$/.exec(reopened.headers.location)![1]);
    expect((await waitForState(t.db, reopenId, FINISHED, 30_000, () => '')).state).toBe('completed');
    await expectExact();
    expect((await overviewCsv()).byName.get('Gamma certification')).toMatchObject({ open: 6, ages: [6, 0, 0, 0] });

    // A learner who leaves the audience leaves the certification, and their exception is closed.
    let before = await lastSyncRunId(t);
    expect((await admin.post(`/audiences/${audience}/members/${learners[0]}/remove`)).status).toBe(303);
    await waitForSyncRun(t, cert, 'audience member removed', before);
    await expectExact();
    expect((await overviewCsv()).byName.get('Gamma certification')).toMatchObject({ open: 5 });

    // No minimum time any more: the re-check resolves every one of them.
    before = await lastSyncRunId(t);
    const edit = await admin.post(`/certifications/${cert}/content/sets/${set}/edit`, {
      name: 'Core',
      courses: [String(course)],
      rule: 'all',
      minDays: '0',
      joiner: 'and',
    });
    expect(edit.status).toBe(303);
    await waitForSyncRun(t, cert, 'content changed', before);
    await expectExact();
    expect((await overviewCsv()).byName.has('Gamma certification')).toBe(false);
  });

  it('sorts by any column both ways, filters by certification name, and pages 50 at a time', async () => {
    // Every certification so far has left the overview: the sync of the audience change above
    // removed the memberships that no assignment brings (the fixtures' memberships).
    for (let i = 1; i <= 55; i++) {
      await createExceptionFixture(t.db, {
        prefix: `OP${i}`,
        shortName: `Paged ${String(i).padStart(2, '0')}`,
        counts: { unknown: 1 + (i % 7) },
      });
    }
    await expectExact();
    const all = await directCounts();
    const opens = (rows: string[][]) => rows.map((r) => Number(r[2]));

    const byOpenDesc = (await overviewCsv('?sort=open&dir=desc')).rows;
    expect(byOpenDesc.length).toBe(all.size);
    expect(opens(byOpenDesc)).toEqual([...opens(byOpenDesc)].sort((x, y) => y - x));
    const byOpen = (await overviewCsv('?sort=open')).rows;
    expect(opens(byOpen)).toEqual([...opens(byOpen)].sort((x, y) => x - y));
    const byOldest = (await overviewCsv('?sort=oldest')).rows.map((r) => r[11]);
    expect(byOldest).toEqual([...byOldest].sort());
    const names = (await overviewCsv()).rows.map((r) => r[0]);
    expect(names).toEqual([...names].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));

    // The page: the sorted column says so, and its header link turns the order round.
    const sorted = (await admin.get('/exceptions?sort=older&dir=desc')).text;
    expect(sorted).toMatch(
      /aria-sort="descending">\s*<a class="app-table__sort" href="\/exceptions\?sort&#x3D;older">More than 30 days ago/,
    );

    // Paging: 50 rows, then the rest, nothing twice.
    const first = await admin.get('/exceptions');
    const rowNames = (html: string) =>
      [...html.matchAll(/<th scope="row" class="app-table__cell"><a class="app-link" href="[^"]+">([^<]+)<\/a>/g)].map((m) => m[1]);
    expect(rowNames(first.text).length).toBe(50);
    expect(mainText(first.text)).toContain(`1–50 of ${all.size}`);
    const next = decode(/href="([^"]+)" rel="next"/.exec(first.text)![1]);
    const secondPage = (await admin.get(next)).text;
    expect([...rowNames(first.text), ...rowNames(secondPage)]).toEqual(names);
    const previous = decode(/href="([^"]+)" rel="prev"/.exec(secondPage)![1]);
    expect(rowNames((await admin.get(previous)).text)).toEqual(names.slice(0, 50));
    const last = decode(/href="([^"]+)">Last page/.exec(first.text)![1]);
    expect(rowNames((await admin.get(last)).text)).toEqual(names.slice(-50));
    // Paging in a count's order too.
    const byCount = (await admin.get('/exceptions?sort=open&dir=desc')).text;
    const nextByCount = decode(/href="([^"]+)" rel="next"/.exec(byCount)![1]);
    expect([...rowNames(byCount), ...rowNames((await admin.get(nextByCount)).text)]).toEqual(byOpenDesc.map((r) => r[0]));

    // The name filter.
    const filtered = await admin.get('/exceptions?q=PAGED+0');
    expect(rowNames(filtered.text)).toEqual(names.filter((n) => n.startsWith('Paged 0')));
    expect(mainText(filtered.text)).toContain('9 certifications with open exceptions match “PAGED 0”');
    expect((await overviewCsv('?q=paged+07')).rows.map((r) => r[0])).toEqual(['Paged 07 certification']);
    const none = await admin.get('/exceptions?q=nothing-like-this');
    expect(mainText(none.text)).toContain('No certification with open exceptions matches “nothing-like-this”.');
  });

  it('shows each certification’s unfinished bulk actions with links, and a viewer sees the overview too', async () => {
    const delta = (await createExceptionFixture(t.db, { prefix: 'OD', shortName: 'Delta', counts: { time_allowance: 3, unknown: 2 } }))
      .certificationId;
    const running = (
      await one(
        `insert into bulk_action (certification_id, action, selection_label, created_by, state, total, processed, started_at)
         values ($1, 'assign', 'All learners', $2, 'running', 1200, 500, now()) returning id`,
        [delta, adminId],
      )
    ).id;
    const html = (await admin.get('/exceptions?q=Delta')).text;
    expect(html).toContain(
      `<a class="app-link" href="/admin/bulk-actions/${running}">Assign: running, 500 of 1,200 learners processed</a>`,
    );
    expect((await overviewCsv('?q=Delta')).byName.get('Delta certification')?.unfinished).toBe(1);
    await expectExact();
    await t.db.query(`update bulk_action set state = 'completed', finished_at = now() where id = $1`, [running]);

    const seen = await viewer.get('/exceptions?q=Delta');
    expect(seen.status).toBe(200);
    expect(visibleText(seen.text)).toContain('Delta certification 5 3 0 0 2 5 0 0 0 Today');
    expect(visibleText(seen.text)).not.toContain('Assign: running');
    // The viewer reads the site's zone (UTC) and is told so.
    const csv = await viewer.get('/exceptions.csv?q=Delta');
    expect(csv.text.split('\n')[0]).toContain('Oldest open raised (UTC)');
  });

  it('makes certification names safe in the CSV', async () => {
    await createExceptionFixture(t.db, { prefix: 'OF', shortName: '=HYPERLINK("x")', counts: { unknown: 1 } });
    const { rows } = await overviewCsv('?q=hyperlink');
    expect(rows.map((r) => r[0])).toEqual([`'=HYPERLINK("x") certification`]);
  });
});
