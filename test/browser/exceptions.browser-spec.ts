import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(180_000);

describe('the exception flow in Chromium', () => {
  let b: BrowserApp;
  let f: ExceptionFixture;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    f = await createExceptionFixture(b.db, { counts: { time_allowance: 60, completion_time_unknown: 3, duplicate_course: 2, unknown: 1 } });
  });
  afterAll(() => b.shutdown());

  it('works with JavaScript disabled: select all time allowance issues, set realistic due dates, confirm, follow progress to Completed', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}`);
    await page.getByRole('link', { name: 'Exception report (66)' }).click();
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All time allowance issues' });
    await page.getByLabel('Action').selectOption({ label: 'Set realistic due date and assign' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/exceptions\/confirm\//);
    expect(await page.locator('main').innerText()).toContain('This will affect 60 learners');
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(/\/admin\/bulk-actions\/\d+/);

    // Without JavaScript the page refreshes itself until the action has finished.
    await page.waitForFunction(() => document.title.startsWith('Completed'), undefined, { timeout: 60_000, polling: 500 });
    expect(await page.locator('main').innerText()).toContain('State: Completed');
    await page.getByRole('link', { name: 'Back to exception report' }).click();
    const remaining = await page.locator('tbody tr').count();
    expect(remaining).toBe(6);
    expect(await page.locator('tbody').innerText()).not.toContain('Time allowance');
    await page.context().close();
  });

  it('refuses a misfit action with an error summary that names the types and counts', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All learners' });
    await page.getByLabel('Action').selectOption({ label: 'Assign' });
    await page.getByRole('button', { name: 'Continue' }).click();
    const summary = page.locator('.app-error-summary');
    expect(await summary.innerText()).toContain('Assign cannot be applied to 3 completion time unknown issues and 1 unknown issue');
    await page.context().close();
  });

  it('filters by age with JavaScript off, from a labelled control, keeping the filter for the CSV', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await page.getByLabel('Age', { exact: true }).selectOption({ label: 'More than 30 days ago' });
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/age=older/);
    expect(await page.locator('#matching').innerText()).toContain('0 open exceptions match your search');
    await page.getByLabel('Age', { exact: true }).selectOption({ label: 'Raised today' });
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/age=today/);
    expect(await page.locator('caption').innerText()).toBe('Open exceptions raised today');
    expect(await page.locator('tbody tr').first().locator('td').last().innerText()).toMatch(/^Today\n\d{1,2} [A-Z][a-z]{2,3} \d{4}$/);
    expect(await page.getByRole('link', { name: /Download CSV/ }).getAttribute('href')).toContain('age=today');
    await page.context().close();
  });

  it('has no axe violations on the report, its errors, the confirmation, the progress page and the list of bulk actions', async () => {
    const page = await b.signIn('ada');
    const check = async (what: string) => expect({ what, violations: await axeViolations(page) }).toEqual({ what, violations: [] });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await check('report');
    await page.getByRole('button', { name: 'Continue' }).click();
    await check('report with errors');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('app-error-summary');
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions?q=nobody`);
    await check('empty search');
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions?age=today&sort=raised`);
    await check('age filter');
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All unknown issues' });
    expect(await page.locator('[data-app-selected-count]').innerText()).toBe('1 learner selected');
    await page.getByLabel('Action').selectOption({ label: 'Do not assign' });
    await page.getByLabel('Reason (optional)').fill('Imported by mistake');
    await page.getByRole('button', { name: 'Continue' }).click();
    await check('confirmation');
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(/\/admin\/bulk-actions\/\d+/);
    // The polling script reloads the page once the action has finished.
    await page.locator('[data-app-progress][data-finished="yes"]').waitFor({ timeout: 60_000 });
    expect(await page.title()).toMatch(/^Completed 100% – Bulk action/);
    await check('finished bulk action');
    await page.goto(`${b.baseUrl}/admin/bulk-actions`);
    await check('bulk actions list');
    await page.context().close();
  });

  it('says how many learners a condition selects, and "more than 1,000" for a search it did not count to the end', async () => {
    const many = await createExceptionFixture(b.db, { counts: { time_allowance: 1001, unknown: 1 }, prefix: 'BIG', shortName: 'Big' });
    const page = await b.signIn('ada');
    const selected = page.locator('[data-app-selected-count]');
    await page.goto(`${b.baseUrl}/certifications/${many.certificationId}/exceptions?q=big00000`);
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All learners' });
    expect(await selected.innerText()).toBe('9 learners selected');
    await page.goto(`${b.baseUrl}/certifications/${many.certificationId}/exceptions?q=big`);
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All learners' });
    expect(await selected.innerText()).toBe('More than 1,000 learners selected');
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'All unknown issues' });
    expect(await selected.innerText()).toBe('Learners selected: counted when you continue');
    await page.getByLabel('Select', { exact: true }).selectOption({ label: 'None' });
    await page.locator('input[name="ids"]').first().check();
    expect(await selected.innerText()).toBe('1 learner selected');
    await page.context().close();
  });
});
