import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { axeViolations, BrowserApp, startBrowserApp } from '../support/browser';
import { createExceptionFixture, ExceptionFixture } from '../support/fixtures';
import { ADMIN_GROUP } from '../support/oidc';

jest.setTimeout(180_000);

/** Signs in on the test provider's own page, as a person would: the account, then Sign in. */
async function signInAtProvider(page: Page, b: BrowserApp, account: string) {
  await page.waitForURL((url) => url.href.startsWith(`${b.provider!.issuer}/interaction/`));
  await page.getByLabel('Account').fill(account);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('single sign-on in Chromium', () => {
  let b: BrowserApp;
  let f: ExceptionFixture;
  let portal: Server;
  let portalOrigin: string;

  beforeAll(async () => {
    // A staff portal on another port of localhost, whose page frames the URL given in ?src=.
    portal = createServer((req, res) => {
      const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? '';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Staff portal</title></head><body><main>` +
          `<iframe src="${src.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" title="Certex" style="width:100%;height:600px"></iframe></main></body></html>`,
      );
    });
    await new Promise<void>((done) => portal.listen(0, '127.0.0.1', done));
    portalOrigin = `http://localhost:${(portal.address() as AddressInfo).port}`;
    b = await startBrowserApp({ BASE_PATH: '/intranet/certex', FRAME_ANCESTORS: portalOrigin }, { host: 'localhost', singleSignOn: {} });
    f = await createExceptionFixture(b.db, { counts: { time_allowance: 3, unknown: 1 }, shortName: 'Sso', prefix: 'SSO' });
    await b.provider!.setAccount('ada-sub', { name: 'Ada Admin', email: 'ada@example.org', groups: [ADMIN_GROUP] });
  });
  afterAll(async () => {
    await b?.shutdown();
    await new Promise((done) => portal?.close(done));
  });

  it('with JavaScript off: from the sign-in page through the provider to the Exception report, and signed out at the provider', async () => {
    const context = await b.context({ javaScriptEnabled: false });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const report = `${b.baseUrl}/certifications/${f.certificationId}/exceptions`;
    await page.goto(report);
    await page.waitForURL(/\/login\?next=/);
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await signInAtProvider(page, b, 'ada-sub');

    await page.waitForURL(report);
    expect(await page.locator('main').innerText()).toContain('Sso certification');
    expect(await page.locator('header').innerText()).toContain('Signed in as Ada Admin');
    expect(await page.locator('tbody tr').count()).toBe(4);

    // Sign-out is a form answered with a redirect to the provider: CSP form-action lets it through.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${b.provider!.issuer}/session/end`));
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${b.baseUrl}/login?ended=signed-out`);
    expect(await page.locator('main').innerText()).toContain('You have signed out.');
    expect((await page.goto(report))?.url()).toContain('/login?next=');
    await context.close();
  });

  it('inside a portal’s frame: the provider opens at the top of the window, and the person comes back signed in', async () => {
    const context = await b.context({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${portalOrigin}/?src=${encodeURIComponent(`${b.baseUrl}/login`)}`);
    const frame = page.frameLocator('iframe');
    await frame.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await signInAtProvider(page, b, 'ada-sub');
    await page.waitForURL(`${b.baseUrl}/certifications`);
    expect(await page.locator('header').innerText()).toContain('Signed in as Ada Admin');
    // The session holds inside the portal's frame too.
    await page.goto(`${portalOrigin}/?src=${encodeURIComponent(`${b.baseUrl}/certifications`)}`);
    await frame.getByRole('link', { name: 'Sso certification' }).waitFor();
    await context.close();
  });

  it('has no axe violations on the sign-in page with its button, the sign-in failed page and the not-allowed page', async () => {
    await b.provider!.setAccount('nora-sub', { name: 'Nora Nobody', groups: ['somewhere-else'] });
    const context = await b.context();
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const check = async (what: string) => expect({ what, violations: await axeViolations(page) }).toEqual({ what, violations: [] });
    await page.goto(`${b.baseUrl}/login`);
    await check('sign-in page with single sign-on');
    expect((await page.goto(`${b.baseUrl}/auth/oidc/callback?code=x&state=y`))?.status()).toBe(400);
    await check('sign-in failed');
    await page.goto(`${b.baseUrl}/login`);
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    await signInAtProvider(page, b, 'nora-sub');
    await page.waitForURL((url) => url.href.startsWith(`${b.baseUrl}/auth/oidc/callback`));
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Your account is not allowed to use Certex');
    await check('not allowed');
    await context.close();
  });
});
