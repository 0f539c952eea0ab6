import type { Page } from 'playwright-core';
import type { PoolClient } from 'pg';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';

jest.setTimeout(60_000);

/**
 * The bulk action progress page as a screen reader user meets it: with JavaScript, the end is
 * announced in the status region and the page is never reloaded under them; without it, a slow
 * refresh they can stop (the link comes first) and a link to check progress by hand.
 */
describe('the bulk action progress page in Chromium', () => {
  let b: BrowserApp;
  let f: ExceptionFixture;

  beforeAll(async () => {
    b = await startBrowserApp();
    await b.createStaff('ada', 'admin', undefined, 'Ada Admin');
    f = await createExceptionFixture(b.db, { counts: { time_allowance: 8, unknown: 40 } });
  });
  afterAll(() => b.shutdown());

  /** Holds a row lock on the membership of an exception, so that a bulk action over it stays Running. */
  async function holdMembershipOf(exceptionId: number): Promise<() => Promise<void>> {
    const locker: PoolClient = await b.db.connect();
    await locker.query('begin');
    await locker.query('select id from membership where id = (select membership_id from exception where id = $1) for update', [
      exceptionId,
    ]);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await locker.query('rollback');
      locker.release();
    };
  }

  async function waitForState(id: number, state: string) {
    for (let i = 0; ; i++) {
      const { rows } = await b.db.query('select state from bulk_action where id = $1', [id]);
      if (rows[0]?.state === state) return;
      if (i > 600) throw new Error(`bulk action ${id} still ${rows[0]?.state}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * axe runs only with JavaScript on, so it reads the page as a browser without JavaScript shows
   * it: the <noscript> parts unwrapped. Their refresh is left out: axe's meta-refresh rule refuses
   * any refresh under 20 hours, as it cannot see the Stop refreshing link that WCAG 2.2.1 asks
   * for; the test itself checks that the link is there, first, and the refresh slow.
   */
  async function noScriptViolations(url: string): Promise<string[]> {
    const page = await b.signIn('ada');
    try {
      await page.route(url, async (route) => {
        const response = await route.fetch();
        const html = (await response.text()).replace(/<\/?noscript>/g, '').replace(/<meta http-equiv="refresh" content="\d+">/, '');
        await route.fulfill({ response, body: html });
      });
      await page.goto(url);
      return await axeViolations(page);
    } finally {
      await page.context().close();
    }
  }

  /** Dismiss every open exception of one type, from the report through the confirmation; returns the bulk action id. */
  async function startAction(page: Page, selectLabel: string): Promise<number> {
    await page.goto(`${b.baseUrl}/certifications/${f.certificationId}/exceptions`);
    await page.getByLabel('Select', { exact: true }).selectOption({ label: selectLabel });
    await page.getByLabel('Action').selectOption({ label: 'Dismiss the exception' });
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/exceptions\/confirm\//);
    await page.getByRole('button', { name: 'OK' }).click();
    await page.waitForURL(/\/admin\/bulk-actions\/\d+$/);
    return Number(/\/admin\/bulk-actions\/(\d+)$/.exec(page.url())![1]);
  }

  it('with JavaScript: announces the finished state in the live region, without reloading the page', async () => {
    const page = await b.signIn('ada');
    const release = await holdMembershipOf(f.exceptionIds.time_allowance[3]);
    try {
      const id = await startAction(page, 'All time allowance issues');
      await waitForState(id, 'running');
      const status = page.locator('[data-app-progress-text]');
      expect(await status.getAttribute('role')).toBe('status');
      expect(await status.innerText()).toMatch(/^(Queued|Running): \d of 8 learners processed\.$/);
      expect(await page.locator('meta[http-equiv="refresh"]').count()).toBe(0);
      // A mark on this document: a reload would make a new document without it.
      await page.evaluate(() => ((window as any).notReloaded = true));
      expect(await axeViolations(page)).toEqual([]);
      await release();
      await page.waitForFunction(() => /^Completed/.test(document.querySelector('[role="status"]')?.textContent ?? ''), undefined, {
        timeout: 60_000,
        polling: 100,
      });
      expect(await status.innerText()).toBe(
        'Completed: 8 of 8 learners processed. Applied: 8 learners, already handled: 0 learners, failed: 0 learners.',
      );
      expect(await page.evaluate(() => (window as any).notReloaded)).toBe(true);
      expect(
        await page.evaluate(() => performance.getEntriesByType('navigation').map((n) => (n as PerformanceNavigationTiming).type)),
      ).toEqual(['navigate']);
      expect(await page.locator('[data-app-progress-state]').innerText()).toBe('Completed');
      expect(await page.title()).toMatch(/^Completed 100%/);
      // The outcome is one link away, and the status region is not read again by a reload.
      await page.getByRole('link', { name: 'Show the outcome' }).click();
      await page.waitForLoadState();
      expect(await page.getByRole('heading', { name: 'Learners changed' }).count()).toBe(1);
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await release();
      await page.context().close();
    }
  });

  it('without JavaScript: refreshes every 15 s at most, Stop refreshing comes first, and Check progress reloads by hand', async () => {
    const page = await b.signIn('ada', { javaScriptEnabled: false });
    const release = await holdMembershipOf(f.exceptionIds.unknown[3]);
    try {
      const id = await startAction(page, 'All unknown issues');
      await waitForState(id, 'running');
      const refresh = page.locator('meta[http-equiv="refresh"]');
      expect(await refresh.getAttribute('content')).toBe('15');
      // In reading order the first thing after the heading is the way to stop the refresh.
      const order = await page.evaluate(() => {
        const main = document.querySelector('main')!;
        const texts = Array.from(main.querySelectorAll('a, p, progress, h1'))
          .filter((el) => (el as HTMLElement).offsetParent !== null || el.tagName === 'PROGRESS')
          .map((el) => el.textContent.trim().split('\n')[0]);
        return texts;
      });
      const stopAt = order.findIndex((text) => text === 'Stop refreshing');
      const statusAt = order.findIndex((text) => /^Running: \d+ of 40 learners processed\.$/.test(text));
      expect(stopAt).toBeGreaterThan(order.indexOf('Bulk action: Dismiss the exception'));
      expect(stopAt).toBeLessThan(statusAt);
      expect(await noScriptViolations(page.url())).toEqual([]);

      await page.getByRole('link', { name: 'Check progress' }).click();
      await page.waitForURL(new RegExp(`/admin/bulk-actions/${id}$`));
      expect(await page.locator('[data-app-progress-text]').innerText()).toMatch(/^Running: \d+ of 40 learners processed\.$/);

      await page.getByRole('link', { name: 'Stop refreshing' }).click();
      await page.waitForURL(/refresh=off$/);
      expect(await refresh.count()).toBe(0);
      expect(await page.locator('main').innerText()).toContain('Refreshing is stopped.');
      expect(await noScriptViolations(page.url())).toEqual([]);
      await release();
      await waitForState(id, 'completed');
      await page.getByRole('link', { name: 'Check progress' }).click();
      await page.waitForURL(/refresh=off$/);
      expect(await page.locator('[data-app-progress-text]').innerText()).toMatch(/^Completed: 40 of 40 learners processed\./);
      expect(await refresh.count()).toBe(0);
      expect(await page.getByRole('link', { name: 'Check progress' }).count()).toBe(0);
    } finally {
      await release();
      await page.context().close();
    }
  });
});
