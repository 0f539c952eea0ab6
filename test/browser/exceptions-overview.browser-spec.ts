import { BrowserApp, startBrowserApp } from '../support/browser';
import { createExceptionFixture } from '../support/fixtures';

jest.setTimeout(180_000);

describe('the Exceptions overview in Chromium', () => {
  let b: BrowserApp;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await createExceptionFixture(b.db, { prefix: 'FS', shortName: 'Fire safety', counts: { time_allowance: 4, unknown: 2 } });
    await createExceptionFixture(b.db, { prefix: 'MH', shortName: 'Manual handling', counts: { duplicate_course: 3 } });
  });
  afterAll(() => b.shutdown());

  // axe needs JavaScript in the page: the accessibility sweep checks every state of the overview.
  it('works with JavaScript off: from the header, search by name, sort, and follow a count to the report showing those rows', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    page.setDefaultTimeout(30_000);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Exceptions' }).click();
    await page.waitForURL(`${b.baseUrl}/exceptions`);
    expect(await page.locator('tbody tr').count()).toBe(2);

    await page.getByLabel('Search by certification name').fill('fire');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/exceptions\?q=fire/);
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('#overview-summary').innerText()).toContain('1 certification with open exceptions matches “fire”');

    await page.getByRole('link', { name: 'Open', exact: true }).click();
    await page.waitForURL(/sort=open/);
    expect(await page.locator('th[aria-sort="ascending"]').innerText()).toContain('Open');
    expect(await page.getByLabel('Search by certification name').inputValue()).toBe('fire');

    await page.getByRole('link', { name: '4 time allowance issues in Fire safety certification' }).click();
    await page.waitForURL(/\/certifications\/\d+\/exceptions\?type=time_allowance/);
    expect(await page.locator('tbody tr').count()).toBe(4);
    await page.context().close();
  });
});
