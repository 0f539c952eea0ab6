import { csrfFrom, mainText, startTestApp, TestApp, TEST_PASSWORD } from '../support/app';

async function staffCount(t: TestApp): Promise<number> {
  return Number((await t.db.query('select count(*) from staff')).rows[0].count);
}

describe('security on every response and form', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ FRAME_ANCESTORS: "'self' https://portal.example.org" });
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
    await t.createStaff('vic', 'viewer', TEST_PASSWORD, 'Vic Viewer');
  });
  afterAll(() => t.close());

  const newStaff = { username: 'newbie', displayName: 'New Person', role: 'viewer', password: 'a long enough password' };

  it('refuses a POST without a CSRF token with 403 and changes nothing', async () => {
    const client = await t.signedIn('ada');
    const before = await staffCount(t);
    const res = await client.agent.post('/admin/staff').type('form').send(newStaff);
    expect(res.status).toBe(403);
    expect(mainText(res.text)).toContain('This form has expired or did not come from a Certex page');
    const wrong = await client.agent
      .post('/admin/staff')
      .type('form')
      .send({ ...newStaff, _csrf: 'forged' });
    expect(wrong.status).toBe(403);
    expect(await staffCount(t)).toBe(before);
  });

  it('refuses a POST from another origin with 403 even with a valid token, and changes nothing', async () => {
    const client = await t.signedIn('ada');
    const token = csrfFrom((await client.get('/admin/staff/new')).text)!;
    const before = await staffCount(t);
    const crossSite = await client.agent
      .post('/admin/staff')
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send({ ...newStaff, _csrf: token });
    expect(crossSite.status).toBe(403);
    const otherOrigin = await client.agent
      .post('/admin/staff')
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ ...newStaff, _csrf: token });
    expect(otherOrigin.status).toBe(403);
    const nullOrigin = await client.agent
      .post('/admin/staff')
      .set('Origin', 'null')
      .type('form')
      .send({ ...newStaff, _csrf: token });
    expect(nullOrigin.status).toBe(403);
    // The same host under another scheme is another origin; the same scheme passes this check.
    const otherScheme = await client.agent
      .post('/admin/staff')
      .set('Host', 'certex.test')
      .set('Origin', 'https://certex.test')
      .type('form')
      .send({ ...newStaff, _csrf: token });
    expect(otherScheme.status).toBe(403);
    expect(await staffCount(t)).toBe(before);
    const sameScheme = await client.agent
      .post('/admin/staff')
      .set('Host', 'certex.test')
      .set('Origin', 'http://certex.test')
      .type('form')
      .send({ ...newStaff, _csrf: token });
    expect(sameScheme.status).not.toBe(403);
  });

  it('tells the browser to keep no signed-in response, so Back after signing out shows nothing', async () => {
    const client = await t.signedIn('ada');
    for (const path of ['/certifications', '/learners', '/admin/staff']) {
      expect({ path, cacheControl: (await client.get(path)).headers['cache-control'] }).toEqual({ path, cacheControl: 'no-store' });
    }
  });

  it('shows the first page for a page cursor holding a NUL character, which PostgreSQL text cannot hold', async () => {
    const client = await t.signedIn('ada');
    const cursor = Buffer.from(JSON.stringify(['\u0000', 1])).toString('base64url');
    for (const path of ['/learners', '/courses', '/audiences', '/certifications', '/admin/mail']) {
      expect({ path, status: (await client.get(`${path}?after=${cursor}`)).status }).toEqual({ path, status: 200 });
    }
  });

  it('answers an id in a path that is no whole number from 1 to 2^53 − 1 with 404, never an error', async () => {
    const client = await t.signedIn('ada');
    for (const id of ['-9223372036854775296', '0', '9223372036854775807', '1e3', '12abc']) {
      for (const path of [`/admin/bulk-actions/${id}`, `/admin/bulk-actions/${id}/learners.csv`, `/learners/${id}`, `/admin/mail/${id}`]) {
        expect({ path, status: (await client.get(path)).status }).toEqual({ path, status: 404 });
      }
    }
  });

  it('lets a viewer see pages but not POST anything that changes data', async () => {
    const viewer = await t.signedIn('vic');
    expect((await viewer.get('/admin/staff')).status).toBe(200);
    expect((await viewer.get('/admin/staff/new')).status).toBe(403);
    const before = await staffCount(t);
    const res = await viewer.post('/admin/staff', newStaff);
    expect(res.status).toBe(403);
    expect(mainText(res.text)).toContain('Only a site administrator can change anything');
    const adaId = (await t.db.query(`select id from staff where username = 'ada'`)).rows[0].id;
    const demote = await viewer.post(`/admin/staff/${adaId}`, { displayName: 'Ada', role: 'viewer' });
    expect(demote.status).toBe(403);
    expect(await staffCount(t)).toBe(before);
    expect((await t.db.query(`select role from staff where username = 'ada'`)).rows[0].role).toBe('admin');
    // Signing out is the one POST a viewer may make.
    expect((await viewer.post('/logout')).status).toBe(303);
  });

  it('sends a CSP with a per-request nonce and frame-ancestors from FRAME_ANCESTORS, and no X-Frame-Options when embedding is allowed', async () => {
    const first = await t.client().get('/login');
    const second = await t.client().get('/login');
    const csp = first.headers['content-security-policy'];
    expect(csp).toContain("frame-ancestors 'self' https://portal.example.org");
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(nonce).not.toBe(/'nonce-([^']+)'/.exec(second.headers['content-security-policy'])![1]);
    expect(first.text).toContain(`nonce="${nonce.replace(/=/g, '&#x3D;')}"`);
    expect(first.headers['x-frame-options']).toBeUndefined();
    // Over plain HTTP the session cookie stays Lax: it still works for a portal on the same site.
    expect(String(first.headers['set-cookie'])).toMatch(/SameSite=Lax/i);
  });

  it('shows a staff name with markup as text everywhere it appears', async () => {
    const evil = '<script>alert(1)</script>';
    await t.createStaff('mallory', 'admin', TEST_PASSWORD, evil);
    const client = await t.signedIn('mallory');
    for (const path of ['/certifications', '/admin/staff']) {
      const res = await client.get(path);
      expect(res.text).not.toContain(evil);
      expect(res.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });
});

describe('a NUL character in input', () => {
  it('never reaches the database: dropped from query strings and form values, no error page', async () => {
    const t = await startTestApp();
    try {
      await t.createStaff('ada', 'admin');
      const admin = await t.signedIn('ada');
      for (const path of ['/learners?q=%00x', '/audiences?q=a%00', '/courses?q=%00', '/admin/mail?q=%00']) {
        expect({ path, status: (await admin.get(path)).status }).toEqual({ path, status: 200 });
      }
      const res = await admin.post('/admin/staff', {
        username: 'nul',
        displayName: 'Null\u0000Byte',
        role: 'viewer',
        password: 'a long enough password',
      });
      expect(res.status).toBe(303);
      expect((await t.db.query(`select display_name from staff where username = 'nul'`)).rows[0].display_name).toBe('NullByte');
    } finally {
      await t.close();
    }
  });
});

describe('embedding in a portal on another site over HTTPS', () => {
  it('marks the session cookie Secure and SameSite=None behind a TLS proxy', async () => {
    const t = await startTestApp({ FRAME_ANCESTORS: 'https://portal.example.org', COOKIE_SECURE: 'true' });
    try {
      const res = await t.client().agent.get('/login').set('X-Forwarded-Proto', 'https');
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(/Secure/);
      expect(cookie).toMatch(/SameSite=None/i);
      expect(res.headers['strict-transport-security']).toBeDefined();
    } finally {
      await t.close();
    }
  });
});

describe('default framing', () => {
  it("allows only the app's own pages to frame it by default", async () => {
    const t = await startTestApp();
    try {
      const res = await t.client().get('/login');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(String(res.headers['set-cookie'])).toMatch(/SameSite=Lax/i);
    } finally {
      await t.close();
    }
  });
});
