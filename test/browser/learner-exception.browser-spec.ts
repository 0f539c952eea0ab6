import type { Page } from 'playwright-core';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { BrowserApp, startBrowserApp } from '../support/browser';
import { FINISHED, waitForState } from '../support/bulk';

jest.setTimeout(180_000);

describe('one learner handled and reopened from their page, in Chromium with JavaScript off', () => {
  let b: BrowserApp;
  let f: ExceptionFixture;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    f = await createExceptionFixture(b.db, { prefix: 'BL', counts: { time_allowance: 3 } });
  });
  afterAll(() => b.shutdown());

  /** OK on the confirmation page, then the progress page until the action has finished. */
  async function confirmAndFinish(page: Page) {
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(/\/admin\/bulk-actions\/\d+$/);
    const id = Number(/(\d+)$/.exec(page.url())![1]);
    await waitForState(b.db, id, FINISHED, 30_000, () => '');
    await page.reload();
    expect(await page.locator('main').innerText()).toContain('State: Completed');
    return id;
  }

  it('goes from the report to the learner page, handles that one learner, reads the history, reopens it and sees it back in the report', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await page.getByRole('link', { name: 'Pat BL000002' }).click();
    await page.waitForURL(/\/learners\/\d+$/);
    const learnerUrl = page.url();
    const panel = page.getByRole('group', { name: 'Open exception in Cert BL certification' });
    expect(await panel.innerText()).toContain('Time allowance');

    await panel.getByLabel('Action').selectOption({ label: 'Do not assign' });
    await panel.getByLabel('Reason (optional)').fill('On long-term leave');
    await panel.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/exceptions\/confirm\//);
    expect(await page.locator('main').innerText()).toContain('This will affect 1 learner');
    const handledBy = await confirmAndFinish(page);

    await page.goto(learnerUrl);
    const history = page.getByRole('table', { name: 'Actions on exceptions in Cert BL certification' });
    const row = await history.locator('tbody tr').first().innerText();
    expect(row).toContain('Ada Admin');
    expect(row).toContain('Do not assign');
    expect(row).toContain('On long-term leave');
    expect(await history.getByRole('link', { name: `Bulk action ${handledBy}` }).count()).toBe(1);
    expect(await page.getByRole('group', { name: 'Handled exception in Cert BL certification' }).innerText()).toContain('Not assigned');

    await page.getByRole('button', { name: 'Reopen exception' }).click();
    await page.waitForURL(/\/exceptions\/confirm\//);
    expect(await page.locator('main').innerText()).toContain('Confirm: Reopen exception');
    await confirmAndFinish(page);

    await page.goto(learnerUrl);
    expect(await page.getByRole('group', { name: 'Open exception in Cert BL certification' }).count()).toBe(1);
    expect(
      await page.getByRole('table', { name: 'Actions on exceptions in Cert BL certification' }).locator('tbody tr').first().innerText(),
    ).toContain('Reopen exception');
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    expect(await page.locator('tbody').innerText()).toContain('BL000002');
    expect(await page.locator('tbody tr').count()).toBe(3);
    await page.context().close();
  });
});
