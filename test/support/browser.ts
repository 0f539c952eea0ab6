// Jest runs tests in a realm whose Symbol lacks Node's Symbol.dispose and Symbol.asyncDispose;
// playwright-core needs them (from before it loads) to act inside a frame of another origin.
for (const name of ['dispose', 'asyncDispose'] as const) {
  if (!(name in Symbol)) Object.defineProperty(Symbol, name, { value: Symbol.for(`nodejs.${name}`) });
}
import type { AddressInfo } from 'node:net';
import { chromium, Browser, BrowserContext, Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import { startTestApp, TestApp, TEST_PASSWORD } from './app';
import { ProviderOptions, startOidcTestApp, TestProvider } from './oidc';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BrowserApp extends TestApp {
  baseUrl: string;
  /** The test OpenID provider, when started with singleSignOn. */
  provider?: TestProvider;
  browser: Browser;
  /** A new browser context (own cookies); JavaScript can be switched off. */
  context(options?: { javaScriptEnabled?: boolean }): Promise<BrowserContext>;
  /** Signs in through the real form in a new context and returns the page. */
  signIn(username: string, options?: { javaScriptEnabled?: boolean }): Promise<Page>;
  shutdown(): Promise<void>;
}

/**
 * The app listening on a local port, and Debian's Chromium driven by playwright-core. The browser
 * reaches it at `host` (127.0.0.1 unless told, e.g. `localhost` to share a site with a portal).
 */
export async function startBrowserApp(
  env: Record<string, string> = {},
  options: { host?: string; singleSignOn?: ProviderOptions } = {},
): Promise<BrowserApp> {
  let t: TestApp;
  let port: number;
  let provider: TestProvider | undefined;
  if (options.singleSignOn) {
    // With a test OpenID provider: PUBLIC_URL must name the port, so it is taken before the app starts.
    const oidc = await startOidcTestApp(env, { ...options.singleSignOn, host: options.host });
    ({ provider } = oidc);
    port = (oidc.listening.address() as AddressInfo).port;
    t = oidc;
  } else {
    t = await startTestApp(env);
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const baseUrl = `http://${options.host ?? '127.0.0.1'}:${port}${t.config.basePath}`;
  const app: BrowserApp = {
    ...t,
    provider,
    baseUrl,
    browser,
    context: (options = {}) => browser.newContext({ baseURL: baseUrl, javaScriptEnabled: options.javaScriptEnabled ?? true }),
    async signIn(username, options = {}) {
      const context = await app.context(options);
      const page = await context.newPage();
      await page.goto(`${baseUrl}/login`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(TEST_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(/\/certifications/);
      return page;
    },
    async shutdown() {
      await browser.close();
      await t.close();
    },
  };
  return app;
}

/**
 * WCAG 2.2 AA: the violations axe finds on the page as it is now (empty when accessible); `include`
 * limits it to part of the page, such as the iframe that shows Certex inside a portal.
 */
export async function axeViolations(page: Page, include?: string): Promise<string[]> {
  const builder = new AxeBuilder({ page });
  // By default AxeBuilder runs axe in parts (runPartial) and gathers the results in a blank page it
  // opens for every analysis, which is what frames of other origins need; on a page without frames
  // axe.run in the page itself applies the same rules to the same document in a third of the time.
  if (page.frames().length === 1) builder.setLegacyMode(true);
  if (include) builder.include(include);
  const results = await builder
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    // Only violations are read, so axe need not gather every passing node.
    .options({ resultTypes: ['violations'] })
    .analyze();
  return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
