import { startTestApp, TestApp, TEST_PASSWORD } from '../support/app';

/** Every href, src and action of a page. */
function urlsIn(html: string): string[] {
  return [...html.matchAll(/(?:href|src|action)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('#'));
}

describe('with BASE_PATH=/intranet/certex', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ BASE_PATH: '/intranet/certex' });
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
  });
  afterAll(() => t.close());

  it('redirects, links and serves assets under the base path', async () => {
    const client = t.client();
    const home = await client.agent.get('/intranet/certex/');
    expect(home.status).toBe(303);
    expect(home.headers.location).toBe('/intranet/certex/certifications');

    const anonymous = await client.agent.get('/intranet/certex/certifications');
    expect(anonymous.headers.location).toBe('/intranet/certex/login?next=%2Fintranet%2Fcertex%2Fcertifications');

    await client.get('/login');
    const signIn = await client.post('/login', { username: 'ada', password: TEST_PASSWORD });
    expect(signIn.headers.location).toBe('/intranet/certex/certifications');

    const seen = new Set<string>();
    for (const page of ['/certifications', '/admin/staff', '/admin/staff/new', '/login']) {
      const res = await client.get(page);
      expect(res.status).toBeLessThan(400);
      for (const url of urlsIn(res.text)) seen.add(url);
    }
    expect(seen.size).toBeGreaterThan(5);
    for (const url of seen) {
      expect(url.startsWith('/intranet/certex/')).toBe(true);
      // Every link and asset answers (forms are POST targets and are checked by their own tests).
      const res = await client.agent.get(url);
      expect(res.status === 200 || res.status === 303 || res.status === 404).toBe(true);
      if (url.includes('/assets/')) expect(res.status).toBe(200);
    }
    const out = await client.post('/logout');
    expect(out.headers.location).toBe('/intranet/certex/login');
  });

  it('serves the health check under the base path', async () => {
    const res = await t.client().agent.get('/intranet/certex/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', postgres: 'up', redis: 'up' });
  });

  it('answers nothing outside the base path', async () => {
    expect((await t.client().agent.get('/certifications')).status).toBe(404);
  });
});
