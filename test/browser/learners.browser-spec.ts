import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(120_000);

describe('learners, audiences and courses in Chromium', () => {
  let b: BrowserApp;
  let audienceId: number;
  let learnerId: number;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await b.db.query(`insert into course (short_name, full_name) values ('FIRE-101', 'Fire safety')`);
    learnerId = (
      await b.db.query(
        `insert into learner (id_number, username, first_name, last_name, email) values ('E0001', 'grace', 'Grace', 'Hopper', 'grace@example.org') returning id`,
      )
    ).rows[0].id;
    audienceId = (await b.db.query(`insert into audience (name, description) values ('Night shift', 'Works nights') returning id`)).rows[0]
      .id;
    await b.db.query(`insert into audience_member (audience_id, learner_id) values ($1, $2)`, [audienceId, learnerId]);
    const cert = await b.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Fire warden', 'FW', 1, 'year', 1, 'month') returning id`,
    );
    // An assignment covers the membership, so that a membership sync (queued by the changes below) keeps it.
    await b.db.query(`insert into assignment (certification_id, kind, learner_id, due_rule) values ($1, 'learner', $2, 'none')`, [
      cert.rows[0].id,
      learnerId,
    ]);
    await b.db.query(`insert into membership (certification_id, learner_id, exception_status) values ($1, $2, 'open')`, [
      cert.rows[0].id,
      learnerId,
    ]);
  });
  afterAll(() => b.shutdown());

  it('adds a learner through the form and uploads a CSV file with JavaScript disabled', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/learners/new`);
    await page.getByRole('button', { name: 'Add learner' }).click();
    expect(await page.title()).toBe('Error: Add a learner – Learners – Certex');
    await page.getByLabel('ID number').fill('E2002');
    await page.getByLabel('Username').fill('alan.turing');
    await page.getByLabel('First name').fill('Alan');
    await page.getByLabel('Last name').fill('Turing');
    await page.getByLabel('Email address').fill('alan@example.org');
    await page.getByLabel('Hire date (optional)').fill('2024-03-31');
    await page.getByLabel('Suspended').check();
    await page.getByRole('button', { name: 'Add learner' }).click();
    await page.waitForURL(/\/learners\/\d+$/);
    expect(await page.locator('h1').textContent()).toBe('Alan Turing');
    expect(await page.getByRole('status').textContent()).toContain('Learner Alan Turing added');
    const { rows } = await b.db.query(
      `select to_char(hire_date, 'YYYY-MM-DD') as hire_date, suspended from learner where id_number = 'E2002'`,
    );
    expect(rows).toEqual([{ hire_date: '2024-03-31', suspended: true }]);

    await page.goto(`${b.baseUrl}/learners/upload`);
    await page.getByLabel('CSV file').setInputFiles({
      name: 'learners.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(
        'id_number,username,first_name,last_name,email\nE3003,katherine,Katherine,Johnson,kj@example.org\nE2002,alan.turing,Alan,Turing,alan.t@example.org\n',
      ),
    });
    await page.getByRole('button', { name: 'Upload and check' }).click();
    await page.waitForURL(`${b.baseUrl}/learners`);
    expect(await page.getByRole('status').textContent()).toContain('1 learner added, 1 updated, 0 unchanged');
    const emails = await b.db.query(`select id_number, email from learner where id_number in ('E2002', 'E3003') order by 1`);
    expect(emails.rows).toEqual([
      { id_number: 'E2002', email: 'alan.t@example.org' },
      { id_number: 'E3003', email: 'kj@example.org' },
    ]);
    await page.context().close();
  });

  // axe runs as a script in the page, so these checks run with JavaScript on.
  it('has no axe violations on the lists, pages, forms with errors and upload pages with errors', async () => {
    const page = await b.signIn('ada');
    const check = async (label: string) => {
      expect({ page: label, violations: await axeViolations(page) }).toEqual({ page: label, violations: [] });
    };
    for (const path of ['/learners', `/learners/${learnerId}`, '/audiences', `/audiences/${audienceId}`, '/courses']) {
      await page.goto(`${b.baseUrl}${path}`);
      await check(path);
    }
    await page.goto(`${b.baseUrl}/learners/${learnerId}`);
    expect(await page.getByRole('table', { name: '1 certification' }).textContent()).toContain('Fire warden');
    await page.goto(`${b.baseUrl}/learners/new`);
    await page.getByLabel('Email address').fill('not an email');
    await page.getByRole('button', { name: 'Add learner' }).click();
    expect(await page.title()).toBe('Error: Add a learner – Learners – Certex');
    await check('learner form with errors');

    await page.goto(`${b.baseUrl}/learners/${learnerId}`);
    await page.getByLabel('Completion date').fill('2099-01-01');
    await page.getByRole('button', { name: 'Record completion' }).click();
    await check('learner page with errors');

    await page.goto(`${b.baseUrl}/audiences/${audienceId}`);
    await page.getByLabel('ID number of the learner').fill('NOBODY');
    await page.getByRole('button', { name: 'Add member' }).click();
    await check('audience page with errors');

    const uploads: Array<[string, string]> = [
      ['/learners/upload', 'id_number,username,first_name,last_name,email\nE9,bad user,A,B,not-an-email\n'],
      [`/audiences/${audienceId}/upload`, 'id_number\nNOBODY\n'],
      ['/courses/completions/upload', 'id_number,course,completed_on\nE0001,NO-COURSE,31/12/2024\n'],
    ];
    for (const [path, csv] of uploads) {
      await page.goto(`${b.baseUrl}${path}`);
      await check(path);
      await page.getByLabel('CSV file').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
      await page.getByRole('button', { name: 'Upload and check' }).click();
      expect(await page.title()).toMatch(/^Error: Upload/);
      expect(await page.locator('main').textContent()).toMatch(/Line 2, column/);
      await check(`${path} with errors`);
    }
    await page.context().close();
  });
});
