import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { csrfFrom, mainText, startTestApp, TestApp, TestClient } from '../support/app';

/** What an accessibility audit of the exception workflow's pages found, each fixed and held here. */

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

function position(html: string): string | null {
  return /<p class="app-pagination__position">([^<]+)<\/p>/.exec(html)?.[1] ?? null;
}

/** aria-current of the link with this text in the main navigation or the certification tabs. */
function ariaCurrent(html: string, navClass: 'app-nav__link' | 'app-subnav__link', text: string): string | null {
  const match = new RegExp(`<a class="${navClass}" href="[^"]+"( aria-current="(\\w+)")?>${text.replace(/[()]/g, '\\$&')}</a>`).exec(html);
  if (!match) throw new Error(`no ${navClass} link ${text}`);
  return match[2] ?? null;
}

async function upload(client: TestClient, path: string, content: string | Buffer) {
  const token = csrfFrom((await client.get(path)).text);
  const file = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
  return client.agent
    .post(`${client.path(path)}?_csrf=${encodeURIComponent(token!)}`)
    .attach('file', file, { filename: 'file.csv', contentType: 'text/csv' });
}

describe('accessibility findings on the exception workflow’s pages', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let adminId: number;
  let f: ExceptionFixture;

  beforeAll(async () => {
    t = await startTestApp();
    adminId = await t.createStaff('ada', 'admin');
    await t.createStaff('vic', 'viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    f = await createExceptionFixture(t.db, { prefix: 'AX', counts: { time_allowance: 120 } });
  });
  afterAll(() => t.close());

  async function runningAction(): Promise<number> {
    const { rows } = await t.db.query(
      `insert into bulk_action (certification_id, action, selection_label, created_by, total, processed, state)
       values ($1, 'assign', 'All learners', $2, 10, 4, 'running') returning id`,
      [f.certificationId, adminId],
    );
    return Number(rows[0].id);
  }

  describe('a running bulk action without JavaScript', () => {
    it('refreshes no more often than every 15 s, with Stop refreshing before the progress text and a Check progress link', async () => {
      const id = await runningAction();
      const page = (await admin.get(`/admin/bulk-actions/${id}`)).text;
      expect(page).toContain('<noscript><meta http-equiv="refresh" content="15"></noscript>');
      expect(page).not.toMatch(/http-equiv="refresh" content="([0-9]|1[0-4])"/);
      const main = /<main[\s\S]*<\/main>/.exec(page)![0];
      const stop = main.indexOf('>Stop refreshing</a>');
      expect(stop).toBeGreaterThan(0);
      expect(stop).toBeLessThan(main.indexOf('role="status"'));
      expect(stop).toBeLessThan(main.indexOf('<progress'));
      expect(unescapeHref(/<noscript>\s*<p[^>]*><a class="app-link" href="([^"]+)">Stop refreshing<\/a>/.exec(main)![1])).toBe(
        `/admin/bulk-actions/${id}?refresh=off`,
      );
      expect(linkByText(main, 'Check progress')).toBe(`/admin/bulk-actions/${id}`);
    });

    it('once stopped, stays stopped, and Check progress keeps it so', async () => {
      const id = await runningAction();
      const page = (await admin.get(`/admin/bulk-actions/${id}?refresh=off`)).text;
      expect(page).not.toContain('http-equiv="refresh"');
      expect(mainText(page)).toContain('Refreshing is stopped.');
      expect(linkByText(page, 'Check progress')).toBe(`/admin/bulk-actions/${id}?refresh=off`);
      expect(linkByText(page, 'Refresh now and keep refreshing')).toBe(`/admin/bulk-actions/${id}`);
    });

    it('says the finished state with the counts by outcome, in the status region and the status the script polls', async () => {
      const id = await runningAction();
      await t.db.query(
        `update bulk_action set state = 'completed_with_failures', processed = 10, applied = 8, already_handled = 1, failed = 1, finished_at = now() where id = $1`,
        [id],
      );
      const page = (await admin.get(`/admin/bulk-actions/${id}`)).text;
      expect(page).not.toContain('http-equiv="refresh"');
      expect(page).not.toContain('Check progress');
      const announced =
        'Completed with failures: 10 of 10 learners processed. Applied: 8 learners, already handled: 1 learner, failed: 1 learner.';
      expect(page).toContain(`role="status" data-app-progress-text>${announced}</p>`);
      const status = await admin.agent.get(`/admin/bulk-actions/${id}/status`).set('Accept', 'application/json');
      expect(status.body).toMatchObject({ finished: true, statusText: announced });
    });
  });

  describe('the Exception report', () => {
    it('names each checkbox with the learner’s name and ID number, so that two learners of one name differ', async () => {
      const [first, second] = f.exceptionIds.time_allowance;
      await t.db.query(
        `update learner set first_name = 'Sam', last_name = 'Same' where id in (select learner_id from exception where id = any($1))`,
        [[first, second]],
      );
      const page = (await admin.get(`/certifications/${f.certificationId}/exceptions?q=Sam+Same`)).text;
      const names = [
        ...page.matchAll(/<label class="app-checkbox__label" for="ids-\d+"><span class="app-visually-hidden">([^<]+)<\/span><\/label>/g),
      ].map((m) => m[1]);
      const same = names.filter((n) => n.startsWith('Select Sam Same'));
      expect(same).toHaveLength(2);
      expect(new Set(same).size).toBe(2);
      expect(same[0]).toMatch(/^Select Sam Same, ID number AX\d{6}$/);
      expect(new Set(names).size).toBe(names.length);
    });

    it('gives the bulk form a real heading that labels it', async () => {
      const page = (await admin.get(`/certifications/${f.certificationId}/exceptions`)).text;
      expect(page).toContain('<h2 class="app-heading-l" id="bulk-form-heading">Handle exceptions</h2>');
      expect(page).toMatch(
        /<form class="app-form" method="post" action="[^"]+\/bulk" novalidate data-app-bulk-form aria-labelledby="bulk-form-heading"/,
      );
      // A viewer has no bulk controls, so no form named for them.
      const asViewer = (await viewer.get(`/certifications/${f.certificationId}/exceptions`)).text;
      expect(asViewer).not.toContain('bulk-form-heading');
    });

    it('says where each page is, out of the open exceptions it lists', async () => {
      const first = await admin.get(`/certifications/${f.certificationId}/exceptions`);
      expect(position(first.text)).toBe('1–50 of 120');
      const second = await admin.get(linkByText(first.text, 'Next page')!);
      expect(position(second.text)).toBe('51–100 of 120');
      const third = await admin.get(linkByText(second.text, 'Next page')!);
      expect(position(third.text)).toBe('101–120 of 120');
      expect(position((await admin.get(linkByText(third.text, 'Previous page')!)).text)).toBe('51–100 of 120');
      expect(position((await admin.get(`/certifications/${f.certificationId}/exceptions?q=AX000007`)).text)).toBe('1–1 of 1');
    });
  });

  describe('the reports and lists', () => {
    it('names the Membership report’s filter and its column checkbox differently', async () => {
      const page = (await admin.get(`/certifications/${f.certificationId}/membership`)).text;
      expect(page).toContain('<label class="app-label" for="status">Filter by exception status</label>');
      expect(page).toContain(
        '<label class="app-checkbox__label" for="columns-exception_status"><span class="app-visually-hidden">Show </span>Exception status<span class="app-visually-hidden"> column</span></label>',
      );
    });

    it('says where each page is: out of the kept count when the whole list shows, "Showing" where no cheap total exists', async () => {
      const membership = `/certifications/${f.certificationId}/membership`;
      const whole = await admin.get(membership);
      expect(position(whole.text)).toBe('1–50 of 120');
      expect(position((await admin.get(linkByText(whole.text, 'Next page')!)).text)).toBe('51–100 of 120');
      expect(position((await admin.get(linkByText(whole.text, 'Last page')!)).text)).toBe('71–120 of 120');
      expect(position((await admin.get(`${membership}?status=open`)).text)).toBe('Showing 1–50');

      const completion = await admin.get(`/certifications/${f.certificationId}/completion`);
      expect(position(completion.text)).toBe('1–50 of 120');
      expect(position((await admin.get(linkByText(completion.text, 'Next page')!)).text)).toBe('51–100 of 120');

      const learners = await admin.get('/learners');
      expect(position(learners.text)).toBe('Showing 1–50');
      expect(position((await admin.get(linkByText(learners.text, 'Next page')!)).text)).toBe('Showing 51–100');

      await t.db.query(
        `insert into bulk_action (certification_id, action, selection_label, created_by, state) select $1, 'dismiss', 'All learners', $2, 'completed' from generate_series(1, 55)`,
        [f.certificationId, adminId],
      );
      const bulk = await admin.get('/admin/bulk-actions');
      expect(position(bulk.text)).toBe('Showing 1–50');
      expect(position((await admin.get(linkByText(bulk.text, 'Next page')!)).text)).toMatch(/^Showing 51–\d+$/);
    });
  });

  describe('the lists of things made by hand', () => {
    it('count them, as they are few, and say where each page is out of them', async () => {
      await t.db.query(
        `insert into course (short_name, full_name) select 'AXC' || lpad(n::text, 3, '0'), 'Course ' || n from generate_series(1, 60) n`,
      );
      await t.db.query(`insert into audience (name) select 'AX audience ' || lpad(n::text, 3, '0') from generate_series(1, 53) n`);
      await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
         select 'AX certification ' || lpad(n::text, 3, '0'), 'AXN' || n, 1, 'year', 1, 'month' from generate_series(1, 54) n`,
      );
      const certifications = Number((await t.db.query(`select count(*) from certification`)).rows[0].count);
      const courses = Number((await t.db.query(`select count(*) from course`)).rows[0].count);
      const audiences = Number((await t.db.query(`select count(*) from audience`)).rows[0].count);
      for (const [path, total] of [
        ['/certifications', certifications],
        ['/courses', courses],
        ['/audiences', audiences],
      ] as const) {
        const first = await admin.get(path);
        expect(position(first.text)).toBe(`1–50 of ${total}`);
        expect(position((await admin.get(linkByText(first.text, 'Next page')!)).text)).toBe(`51–${total} of ${total}`);
      }
      expect(position((await admin.get('/courses?q=AXC05')).text)).toBe('1–10 of 10');
      expect(position((await admin.get('/audiences?q=audience+05')).text)).toBe('1–4 of 4');
    });
  });

  describe('the header links', () => {
    it('mark the current section "true" on the pages under it and "page" only on their own page', async () => {
      const learnerId = (await t.db.query(`select learner_id from exception where id = $1`, [f.exceptionIds.time_allowance[5]])).rows[0]
        .learner_id;
      expect(ariaCurrent((await admin.get('/learners')).text, 'app-nav__link', 'Learners')).toBe('page');
      expect(ariaCurrent((await admin.get(`/learners/${learnerId}`)).text, 'app-nav__link', 'Learners')).toBe('true');
      expect(ariaCurrent((await admin.get(`/learners/${learnerId}`)).text, 'app-nav__link', 'Certifications')).toBeNull();
      const certification = (await admin.get(`/certifications/${f.certificationId}/exceptions`)).text;
      expect(ariaCurrent(certification, 'app-nav__link', 'Certifications')).toBe('true');
      expect(ariaCurrent(certification, 'app-subnav__link', 'Exception report (120)')).toBe('page');
      expect(ariaCurrent(certification, 'app-subnav__link', 'Overview')).toBeNull();
      expect(ariaCurrent((await admin.get('/certifications')).text, 'app-nav__link', 'Certifications')).toBe('page');
      expect(ariaCurrent((await admin.get('/admin/bulk-actions')).text, 'app-nav__link', 'Bulk actions')).toBe('page');

      // A page under a tab: the tab marks the section, not the page.
      const newSet = (await admin.get(`/certifications/${f.certificationId}/content/sets/new?path=certification`)).text;
      expect(ariaCurrent(newSet, 'app-subnav__link', 'Content')).toBe('true');
      expect(ariaCurrent((await admin.get(`/certifications/${f.certificationId}/content`)).text, 'app-subnav__link', 'Content')).toBe(
        'page',
      );
    });
  });

  describe('the CSV uploads', () => {
    it.each(['/learners/upload', '/courses/completions/upload', 'audience'])(
      '%s: the error summary leads to the list of problems in the file',
      async (which) => {
        let path = which;
        if (which === 'audience') {
          const { rows } = await t.db.query(`insert into audience (name) values ('Upload check') returning id`);
          path = `/audiences/${rows[0].id}/upload`;
        }
        const res = await upload(admin, path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe]));
        expect(res.status).toBe(400);
        // A file that is not CSV at all is a problem with the file itself: it leads to the file field.
        expect(/<a class="app-error-summary__link" href="([^"]+)">/.exec(res.text)![1]).toBe('#file');

        const header = /<code class="app-csv-example__line">([^<]+)<\/code>/.exec(res.text)![1];
        const bad = await upload(
          admin,
          path,
          `${header}\n${header
            .split(',')
            .map(() => '?!')
            .join(',')}\n`,
        );
        expect(bad.status).toBe(400);
        expect(/<a class="app-error-summary__link" href="([^"]+)">/.exec(bad.text)![1]).toBe('#file-problems');
        expect(bad.text).toMatch(
          /<ul class="app-body-text app-csv-errors" id="file-problems" aria-labelledby="file-errors" tabindex="-1">\s*<li>Line 2/,
        );
      },
    );
  });
});
