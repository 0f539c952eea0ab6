import { BrowserApp, startBrowserApp } from '../support/browser';
import { waitForState } from '../support/bulk';
import { createExceptionFixture } from '../support/fixtures';

jest.setTimeout(180_000);

/** Exception policies and exemptions in Chromium with JavaScript off: plain forms, redirects and confirmations. */
describe('exception policies and exemptions in Chromium, JavaScript off', () => {
  let b: BrowserApp;
  let adaId: number;

  beforeAll(async () => {
    b = await startBrowserApp();
    adaId = await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
  });
  afterAll(() => b.shutdown());

  it('saves a time allowance policy, then applies it to the open exceptions through its offer and the confirmation', async () => {
    const { certificationId } = await createExceptionFixture(b.db, { prefix: 'PO', shortName: 'Policy', counts: { time_allowance: 3 } });
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    page.setDefaultTimeout(30_000);
    await page.goto(`${b.baseUrl}/certifications/${certificationId}/edit`);
    await page.getByLabel('Set realistic due date and assign automatically').check();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL(`${b.baseUrl}/certifications/${certificationId}/exception-policy`);
    const policy = await b.db.query(`select time_allowance_policy from certification where id = $1`, [certificationId]);
    expect(policy.rows[0].time_allowance_policy).toBe('assign_realistic');

    await page.locator('#apply-time-allowance').click();
    await page.waitForURL(/\/confirm/);
    expect(await page.locator('#selection').innerText()).toContain('3');
    await page.locator('#ok').click();
    await page.waitForURL(/\/admin\/bulk-actions\/\d+/);
    const bulkActionId = Number(/\/admin\/bulk-actions\/(\d+)/.exec(page.url())![1]);
    await waitForState(b.db, bulkActionId, ['completed'], 60_000, () => page.url());
    const handled = await b.db.query(
      `select e.status, a.staff_id, a.by_policy from exception e join exception_audit a on a.exception_id = e.id
        where e.certification_id = $1`,
      [certificationId],
    );
    expect(handled.rows).toEqual(Array(3).fill({ status: 'assigned_realistic', staff_id: adaId, by_policy: false }));
    await page.context().close();
  });

  it("exempts one learner from their page, then the rest from the Completion report's filter", async () => {
    const { certificationId } = await createExceptionFixture(b.db, { prefix: 'EX', shortName: 'Exempt', counts: { time_allowance: 4 } });
    const learners = (
      await b.db.query(`select learner_id from membership where certification_id = $1 order by learner_id`, [certificationId])
    ).rows.map((r) => r.learner_id as number);
    const statuses = async () =>
      (
        await b.db.query(`select exception_status from membership where certification_id = $1 order by learner_id`, [certificationId])
      ).rows.map((r) => r.exception_status as string);
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    page.setDefaultTimeout(30_000);

    await page.goto(`${b.baseUrl}/learners/${learners[0]}`);
    await page.getByRole('link', { name: 'Exempt from this certification (Exempt certification)' }).click();
    await page.getByLabel('Reason').fill('On long leave');
    await page.getByRole('button', { name: 'Exempt from this certification' }).click();
    await page.waitForURL(`${b.baseUrl}/learners/${learners[0]}`);
    expect(await page.getByRole('button', { name: 'End exemption from Exempt certification' }).count()).toBe(1);
    expect(await statuses()).toEqual(['exempt', 'open', 'open', 'open']);

    await page.goto(`${b.baseUrl}/certifications/${certificationId}/completion`);
    await page.locator('#exempt-matching').click();
    await page.getByLabel('Reason').fill('Seconded abroad');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/exemptions\/confirm/);
    expect(await page.locator('#selection').innerText()).toContain('3');
    await page.locator('#ok').click();
    await page.waitForURL(/\/completion/);
    expect(await statuses()).toEqual(['exempt', 'exempt', 'exempt', 'exempt']);
    await page.context().close();
  });
});
