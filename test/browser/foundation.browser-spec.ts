import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(120_000);

describe('foundation pages in Chromium', () => {
  let b: BrowserApp;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
  });
  afterAll(() => b.shutdown());

  it('signs in with JavaScript disabled', async () => {
    const context = await b.context({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${b.baseUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.title()).resolves.toBe('Error: Sign in – Certex');
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${b.baseUrl}/certifications`);
    expect(await page.locator('h1').textContent()).toBe('Certifications');
    await context.close();
  });

  // axe runs as a script in the page, so these checks run with JavaScript on.
  it('has no axe violations on any page, in any state', async () => {
    const context = await b.context();
    const page = await context.newPage();
    await page.goto(`${b.baseUrl}/login`);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await axeViolations(page)).toEqual([]);
    await page.getByLabel('Username').fill('ada');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${b.baseUrl}/certifications`);

    const adaId = (await b.db.query(`select id from staff where username = 'ada'`)).rows[0].id;
    for (const path of ['/certifications', '/admin/staff', '/admin/staff/new', `/admin/staff/${adaId}`, '/no-such-page']) {
      await page.goto(`${b.baseUrl}${path}`);
      expect({ path, violations: await axeViolations(page) }).toEqual({ path, violations: [] });
    }
    await page.goto(`${b.baseUrl}/admin/staff/new`);
    await page.getByRole('button', { name: 'Add staff account' }).click();
    expect(await axeViolations(page)).toEqual([]);
    await page.goto(`${b.baseUrl}/admin/staff/${adaId}`);
    await page.getByLabel('Viewer').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    expect(await page.locator('.app-error-summary').innerText()).toContain('You cannot remove your own administrator access');
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  });

  it('moves focus to the error summary when JavaScript runs', async () => {
    const context = await b.context();
    const page = await context.newPage();
    await page.goto(`${b.baseUrl}/login`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
    const focused = await page.evaluate(() => document.activeElement?.getAttribute('class'));
    expect(focused).toBe('app-error-summary');
    await context.close();
  });
});
