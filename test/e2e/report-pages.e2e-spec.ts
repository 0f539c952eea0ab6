import { CertificationsService } from '../../src/certifications/certifications.service';
import { ExceptionReportService, parseView, SORTS as EXCEPTION_SORTS } from '../../src/exceptions/exception-report.service';
import { COMPLETION_SORTS } from '../../src/reports/completion-report.service';
import { SORTS as MEMBERSHIP_SORTS } from '../../src/reports/membership-report.service';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { startTestApp, TestApp, TestClient } from '../support/app';

/**
 * A report page reads the certification's header and its rows in one statement: whatever the
 * sort and the direction of travel, every row shows once and in the report's order, and the
 * header's counts and name come with it, rows or none.
 */

function linkByText(html: string, text: string): string | null {
  const match = new RegExp(`href="([^"]+)"[^>]*>${text}<`).exec(html);
  return match ? match[1].replace(/&amp;/g, '&').replace(/&#x3D;/g, '=') : null;
}

/** The learner names of a page's rows, in the order shown. */
function names(html: string): string[] {
  return [...html.matchAll(/<th scope="row" class="app-table__cell">(?:<a [^>]*>)?([^<]*)</g)].map((m) => m[1]);
}

function position(html: string): string | null {
  return /<p class="app-pagination__position">([^<]+)<\/p>/.exec(html)?.[1] ?? null;
}

describe('report pages walked forward and back', () => {
  let t: TestApp;
  let admin: TestClient;
  let f: ExceptionFixture;

  beforeAll(async () => {
    t = await startTestApp();
    f = await createExceptionFixture(t.db, { prefix: 'RP', shortName: 'Paging', counts: { time_allowance: 70, duplicate_course: 50 } });
    // Names and due dates in an order unlike the ids', so that no order can pass by following the ids.
    await t.db.query(`update learner set last_name = md5(id::text) where id_number like 'RP%'`);
    await t.db.query(
      `update membership set due_at = now() + make_interval(days => (hashtext(id::text) & 255)) where certification_id = $1 and id % 7 <> 0`,
      [f.certificationId],
    );
    await t.createStaff('paging-admin', 'admin');
    admin = await t.signedIn('paging-admin');
  });

  afterAll(async () => {
    await t.close();
  });

  /** The names of every page from `html` on, following the link named `linkText`, in the order visited. */
  async function walk(html: string, linkText: 'Next page' | 'Previous page'): Promise<string[]> {
    const visited: string[] = [];
    let page: string | null = html;
    while (page !== null) {
      visited.push(...(linkText === 'Next page' ? names(page) : names(page).reverse()));
      const href = linkByText(page, linkText);
      page = href ? (await admin.get(href)).text : null;
    }
    return visited;
  }

  async function expectedOrder(table: 'exception' | 'membership', columns: readonly string[], dir: 'asc' | 'desc'): Promise<string[]> {
    const alias = table === 'exception' ? 'e' : 'm';
    const where = table === 'exception' ? `e.status = 'open'` : 'm.removed_at is null';
    const order = columns.map((column) => `${column} ${dir}`).join(', ');
    const { rows } = await t.db.query<{ name: string }>(
      `select l.first_name || ' ' || l.last_name as name from ${table} ${alias} join learner l on l.id = ${alias}.learner_id
        where ${alias}.certification_id = $1 and ${where} order by ${order}`,
      [f.certificationId],
    );
    return rows.map((row) => row.name);
  }

  it.each([
    ['Exception report by learner', 'exceptions', 'exception', EXCEPTION_SORTS.learner, 'asc'],
    ['Exception report, Raised newest first', 'exceptions?sort=raised&dir=desc', 'exception', EXCEPTION_SORTS.raised, 'desc'],
    ['Exception report by issue, descending', 'exceptions?sort=issue&dir=desc', 'exception', EXCEPTION_SORTS.issue, 'desc'],
    ['Completion report by due date', 'completion?sort=due', 'membership', COMPLETION_SORTS.due, 'asc'],
    ['Membership report by learner, descending', 'membership?dir=desc', 'membership', MEMBERSHIP_SORTS.learner.columns, 'desc'],
  ] as const)('%s: every row once, in order, going forward and coming back', async (_label, path, table, columns, dir) => {
    const report = `/certifications/${f.certificationId}/${path}`;
    const expected = await expectedOrder(table, columns, dir);
    expect(expected).toHaveLength(120);

    const first = await admin.get(report);
    expect(first.status).toBe(200);
    expect(first.text).toContain('Paging certification');
    expect(position(first.text)).toBe('1–50 of 120');
    expect(await walk(first.text, 'Next page')).toEqual(expected);

    const last = await admin.get(linkByText(first.text, 'Last page')!);
    expect(position(last.text)).toBe('71–120 of 120');
    const backward = (await walk(last.text, 'Previous page')).reverse();
    expect(backward).toEqual(expected);
  });

  it('reads the same header with the rows as alone, timestamps as Dates, with rows or none', async () => {
    const certifications = t.app.get(CertificationsService);
    const report = t.app.get(ExceptionReportService);
    const view = parseView({}, 'UTC');
    const alone = await t.inContext(() => certifications.page(f.certificationId, 'exceptions'));
    for (const q of ['', 'no-learner-is-called-this']) {
      const read = report.pageRead(f.certificationId, { ...view, q }, { after: null, before: null });
      const withRows = await t.inContext(() => certifications.pageWithRows(f.certificationId, 'exceptions', read));
      expect(withRows.page.certification).toEqual(alone.certification);
      expect(withRows.page.certification.createdAt).toBeInstanceOf(Date);
      expect(withRows.page.openByType).toEqual({ time_allowance: 70, duplicate_course: 50 });
      expect(withRows.page.membersByState).toEqual(alone.membersByState);
      expect(withRows.page.bulkActionsUnfinished).toBe(false);
      expect(withRows.rows).toHaveLength(q ? 0 : 51);
    }
  });

  it('reads timestamps as Dates, as the row types say', async () => {
    const report = t.app.get(ExceptionReportService);
    const [row] = await t.inContext(() => report.page(f.certificationId, parseView({}, 'UTC'), { after: null, before: null }, 1));
    expect(row.raisedAt).toBeInstanceOf(Date);
    const { rows } = await t.db.query<{ raised_at: Date }>(`select raised_at from exception where id = $1`, [row.id]);
    expect(row.raisedAt.getTime()).toBe(rows[0].raised_at.getTime());
  });

  it('shows the header of a report with no rows to show, and answers 404 for a certification that does not exist', async () => {
    for (const report of ['exceptions', 'completion', 'membership']) {
      const none = await admin.get(`/certifications/${f.certificationId}/${report}?q=no-learner-is-called-this`);
      expect(none.status).toBe(200);
      expect(none.text).toContain('Paging certification');
      expect(names(none.text)).toEqual([]);
      expect((await admin.get(`/certifications/${f.certificationId + 1000}/${report}`)).status).toBe(404);
    }
  });
});
