import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(180_000);

describe('the reports in Chromium', () => {
  let b: BrowserApp;
  let f: ExceptionFixture;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    f = await createExceptionFixture(b.db, { counts: { time_allowance: 55, unknown: 2 } });
    // Some memberships without exceptions and some handled ones, so every column has content.
    await b.db.query(
      `update membership set exception_status = 'none' where id in (select id from membership where certification_id = $1 order by id limit 5)`,
      [f.certificationId],
    );
    await b.db.query(
      `update exception set status = 'dismissed', handled_at = now(), reason = 'Legacy record'
        where id = any($1)`,
      [f.exceptionIds.unknown],
    );
    await b.db.query(
      `update membership set exception_status = 'dismissed' where id in (select membership_id from exception where id = any($1))`,
      [f.exceptionIds.unknown],
    );
  });
  afterAll(() => b.shutdown());

  it('works with JavaScript disabled: tick Exception status, press Apply, see the column', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}`);
    await page.getByRole('link', { name: 'Membership report' }).click();
    await page.waitForURL(/\/membership$/);
    expect(await page.locator('thead').innerText()).not.toContain('Exception status');
    await page.getByRole('group', { name: 'Columns' }).getByLabel('Exception status').check();
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.waitForURL(/columns=exception_status/);
    expect(await page.getByRole('columnheader', { name: /Exception status/ }).count()).toBe(1);
    const body = await page.locator('tbody').innerText();
    expect(body).toContain('Open');
    expect(body).toContain('None');
    // The choice survives to the next page.
    await page.getByRole('link', { name: 'Next page' }).click();
    await page.waitForURL(/after=/);
    expect(await page.getByRole('columnheader', { name: /Exception status/ }).count()).toBe(1);
    expect(await page.locator('tbody').innerText()).toContain('Dismissed');
    await page.context().close();
  });

  it('has no axe violations on the Membership report (default and every column), the Completion report and a learner’s exception history', async () => {
    const page = await b.signIn('ada');
    const check = async (what: string) => expect({ what, violations: await axeViolations(page) }).toEqual({ what, violations: [] });
    const membership = `${b.baseUrl}/certifications/${f.certificationId}/membership`;
    await page.goto(membership);
    await check('membership report');
    const all = 'exception_status,exception_type,exception_handled_on,handled_by,reason,state,certified_on,expires_on,email';
    await page.goto(`${membership}?columns=${all}`);
    expect(await page.locator('thead th').count()).toBe(14);
    await check('membership report with every column');
    await page.goto(`${membership}?q=nobody&status=open`);
    await check('membership report, nothing found');
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/completion`);
    expect(await page.locator('h1').innerText()).toBe('Completion report');
    await check('completion report');
    // A learner page (reached from the reports) with a handled exception in its history.
    const {
      rows: [learner],
    } = await b.db.query(`select learner_id from exception where id = $1`, [f.exceptionIds.unknown[0]]);
    await page.goto(`${b.baseUrl}/learners/${learner.learner_id}`);
    expect(await page.getByRole('table', { name: /Exception history/ }).innerText()).toContain('Legacy record');
    await check('learner page with exception history');
    await page.context().close();
  });
});
