import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(180_000);

describe('certification pages in Chromium', () => {
  let b: BrowserApp;

  beforeAll(async () => {
    b = await startBrowserApp({ PROCESS_ROLE: 'web' });
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await b.db.query(`insert into course (short_name, full_name) values ('FS101', 'Fire basics'), ('FS102', 'Extinguishers')`);
    await b.db.query(
      `insert into learner (id_number, username, first_name, last_name, email) values ('E100', 'grace', 'Grace', 'Hopper', 'grace@example.org')`,
    );
    await b.db.query(`insert into audience (name) values ('Night shift')`);
  });
  afterAll(() => b.shutdown());

  it('creates a certification, adds a course set and an assignment with JavaScript disabled', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.getByRole('link', { name: 'Add a certification' }).click();
    await page.getByLabel('Full name').fill('Fire Safety Awareness');
    await page.getByLabel('Short name').fill('FIRE');
    await page.getByRole('button', { name: 'Add certification' }).click();
    await page.waitForURL(/\/certifications\/\d+$/);
    expect(await page.locator('h1').textContent()).toBe('Overview');
    expect(await page.title()).toBe('Overview – Fire Safety Awareness – Certex');

    await page.getByRole('navigation', { name: 'Certification' }).getByRole('link', { name: 'Content' }).click();
    await page.getByRole('link', { name: 'Add a course set to the certification path' }).click();
    await page.getByLabel('Name of the course set').fill('Basics');
    await page.getByLabel('Fire basics (FS101)').check();
    await page.getByLabel('Minimum time (days)').fill('5');
    await page.getByRole('button', { name: 'Add course set' }).click();
    await page.waitForURL(/\/content$/);
    expect(await page.locator('main').textContent()).toContain('Total minimum time: 5 days');

    await page.getByRole('navigation', { name: 'Certification' }).getByRole('link', { name: 'Assignments' }).click();
    await page.getByRole('link', { name: 'Add an assignment' }).click();
    await page.getByLabel('A learner').check();
    await page.getByLabel('Learner’s ID number').fill('E100');
    await page.getByLabel('Fixed date').check();
    await page.getByLabel('Due date', { exact: true }).fill('2027-03-31');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/assignments\/preview\?/);
    expect(await page.title()).toBe('Check what this assignment will do – Fire Safety Awareness – Certex');
    expect((await page.locator('main').textContent())?.replace(/\s+/g, ' ')).toContain('Learners added1');
    await page.getByRole('button', { name: 'Save assignment' }).click();
    await page.waitForURL(/\/assignments$/);
    const row = await page.locator('tbody tr').first().textContent();
    expect(row?.replace(/\s+/g, ' ')).toContain('Learner: Grace Hopper (E100) Fixed: 31 Mar 2027');
    const stored = await b.db.query(`select kind, due_rule from assignment`);
    expect(stored.rows).toEqual([{ kind: 'learner', due_rule: 'fixed' }]);

    // Editing it: the due date rule changes in place, the learner stays.
    await page.getByRole('link', { name: 'Edit the due date rule of Learner: Grace Hopper (E100)' }).click();
    expect(await page.title()).toBe('Change a due date rule – Fire Safety Awareness – Certex');
    await page.getByLabel('Due date', { exact: true }).fill('2027-06-30');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/\/preview\?/);
    expect(await page.title()).toBe('Check what this change will do – Fire Safety Awareness – Certex');
    // Change keeps the answers; previewing again leads to the same Save.
    await page.getByRole('link', { name: 'Change', exact: true }).click();
    expect(await page.getByLabel('Due date', { exact: true }).inputValue()).toBe('2027-06-30');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('button', { name: 'Save due date rule' }).click();
    await page.waitForURL(/\/assignments$/);
    expect(await page.locator('main').textContent()).toContain('Due date rule of learner Grace Hopper (E100) changed.');
    const edited = await page.locator('tbody tr').first().textContent();
    expect(edited?.replace(/\s+/g, ' ')).toContain('Learner: Grace Hopper (E100) Fixed: 30 Jun 2027');
    await page.context().close();
  });

  // axe runs as a script in the page, so these checks run with JavaScript on.
  it('has no axe violations on the certification pages, with and without errors', async () => {
    const page = await b.signIn('ada');
    const id = (await b.db.query(`select id from certification where short_name = 'FIRE'`)).rows[0].id;
    const assignmentId = (await b.db.query(`select id from assignment where certification_id = $1`, [id])).rows[0].id;
    const audienceId = (await b.db.query(`select id from audience where name = 'Night shift'`)).rows[0].id;
    const check = async (label: string) => {
      expect({ label, violations: await axeViolations(page) }).toEqual({ label, violations: [] });
    };
    const paths = [
      '/certifications',
      `/certifications/${id}`,
      `/certifications/${id}/edit`,
      `/certifications/${id}/content`,
      `/certifications/${id}/content/sets/new?path=recertification`,
      `/certifications/${id}/assignments`,
      `/certifications/${id}/assignments/new`,
      `/certifications/${id}/assignments/${assignmentId}/edit`,
      `/certifications/${id}/assignments/preview?kind=audience&audienceId=${audienceId}&dueRule=fixed&dueDate=2027-01-31`,
      `/certifications/${id}/assignments/${assignmentId}/preview?dueRule=relative&dueAmount=2&dueUnit=month&dueEvent=first_login`,
      `/certifications/${id}/messages`,
      `/certifications/${id}/exceptions`,
      `/certifications/${id}/completion`,
      `/certifications/${id}/membership`,
      '/certifications/new',
    ];
    for (const path of paths) {
      await page.goto(`${b.baseUrl}${path}`);
      await check(path);
    }

    await page.goto(`${b.baseUrl}/certifications/${id}/edit`);
    await page.getByLabel('Full name').fill('');
    await page.getByRole('button', { name: 'Save changes' }).click();
    expect(await page.title()).toBe('Error: Edit details – Fire Safety Awareness – Certex');
    await check('edit form with errors');

    await page.goto(`${b.baseUrl}/certifications/${id}/content/sets/new?path=certification`);
    await page.getByRole('button', { name: 'Add course set' }).click();
    expect(await page.title()).toMatch(/^Error: /);
    await check('course set form with errors');

    await page.goto(`${b.baseUrl}/certifications/${id}/assignments/new`);
    await page.getByLabel('An audience').check();
    await page.getByLabel('Relative to an event').check();
    await page.getByRole('button', { name: 'Preview' }).click();
    expect(await page.title()).toBe('Error: Add an assignment – Fire Safety Awareness – Certex');
    await check('assignment form with errors');
    await page.context().close();
  });
});
