import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(180_000);

describe('learner messages and the account page in Chromium', () => {
  let b: BrowserApp;
  let id: number;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await b.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
    const { rows } = await b.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Fire Safety', 'FIRE', 1, 'year', 1, 'month') returning id`,
    );
    id = rows[0].id;
  });
  afterAll(() => b.shutdown());

  it('edits a message without JavaScript: errors first, then saved with a success banner', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${id}/messages`);
    await page.getByRole('link', { name: 'Edit the Due soon message' }).click();
    await page.getByLabel('Subject').fill('');
    await page.getByLabel('Days before the due date').fill('400');
    await page.getByRole('button', { name: 'Save message' }).click();
    const summary = page.locator('.app-error-summary');
    expect(await summary.innerText()).toContain('Enter a subject, or switch the message off');
    expect(await summary.innerText()).toContain('Days must be a whole number from 1 to 365');
    await page.getByLabel('Subject').fill('{certification_name} is due soon');
    await page.getByLabel('Days before the due date').fill('21');
    await page.getByRole('button', { name: 'Save message' }).click();
    await page.waitForURL(/\/messages$/);
    expect(await page.locator('[role=status]').innerText()).toContain('Due soon message saved');
    expect(await page.locator('tbody tr').nth(2).innerText()).toContain('21 days before');
    await page.context().close();
  });

  it('has no axe violations on the Messages tab, the edit page with errors and the account pages', async () => {
    const page = await b.signIn('ada');
    const check = async (what: string) => expect({ what, violations: await axeViolations(page) }).toEqual({ what, violations: [] });
    await page.goto(`${b.baseUrl}/certifications/${id}/messages`);
    await check('messages tab');
    await page.goto(`${b.baseUrl}/certifications/${id}/messages/window_closing`);
    await check('edit page');
    await page.getByLabel('Send this message').check();
    await page.getByLabel('Subject').fill('');
    await page.getByLabel('Body').fill('Hello {nobody}');
    await page.getByRole('button', { name: 'Save message' }).click();
    await page.locator('.app-error-summary').waitFor();
    expect(await page.title()).toMatch(/^Error: Window closing message/);
    await check('edit page with errors');
    await page.goto(`${b.baseUrl}/account`);
    await check('account page');
    await page.getByLabel('Your email address').fill('not an address');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('.app-error-summary').waitFor();
    await check('account page with errors');
    await page.context().close();

    const viewerPage = await b.signIn('vic');
    await viewerPage.goto(`${b.baseUrl}/account`);
    expect({ what: 'viewer account page', violations: await axeViolations(viewerPage) }).toEqual({
      what: 'viewer account page',
      violations: [],
    });
    await viewerPage.context().close();
  });
});
