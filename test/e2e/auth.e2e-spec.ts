import { mainText, startTestApp, TestApp, TEST_PASSWORD } from '../support/app';

describe('staff sign-in and sessions', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
    await t.createStaff('vic', 'viewer', TEST_PASSWORD, 'Vic Viewer');
  });
  afterAll(() => t.close());

  it('sends a person who is not signed in to the sign-in page', async () => {
    const res = await t.client().get('/certifications');
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?next=%2Fcertifications');
  });

  it('shows the sign-in form with labelled Username and Password and a Sign in button', async () => {
    const res = await t.client().get('/login');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/<label class="app-label" for="username">Username<\/label>/);
    expect(res.text).toMatch(/<label class="app-label" for="password">Password<\/label>/);
    expect(res.text).toMatch(/<button class="app-button" type="submit">Sign in<\/button>/);
  });

  it('signs in, lands on the certifications page and shows the person', async () => {
    const client = t.client();
    await client.get('/login');
    const res = await client.post('/login', { username: 'ada', password: TEST_PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/certifications');
    const page = await client.get('/certifications');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Ada Admin');
    expect(mainText(page.text)).toContain('There are no certifications yet');
  });

  it('gives a new session id at sign-in', async () => {
    const client = t.client();
    const before = await client.get('/login');
    const cookieBefore = String(before.headers['set-cookie']).match(/certex\.sid=([^;]+)/)?.[1];
    const res = await client.post('/login', { username: 'ada', password: TEST_PASSWORD });
    const cookieAfter = String(res.headers['set-cookie']).match(/certex\.sid=([^;]+)/)?.[1];
    expect(cookieBefore).toBeTruthy();
    expect(cookieAfter).toBeTruthy();
    expect(cookieAfter).not.toBe(cookieBefore);
  });

  it('refuses a wrong password with an error summary and "Error:" in the title', async () => {
    const client = t.client();
    await client.get('/login');
    const res = await client.post('/login', { username: 'ada', password: 'wrong password' });
    expect(res.status).toBe(401);
    expect(res.text).toContain('<title>Error: Sign in – Certex</title>');
    expect(res.text).toContain('role="alert"');
    expect(res.text).toContain('Enter a correct username and password');
  });

  it('throttles repeated wrong passwords, even when the right one follows', async () => {
    await t.createStaff('tess', 'admin', TEST_PASSWORD, 'Tess');
    const client = t.client();
    await client.get('/login');
    for (let i = 0; i < 5; i++) {
      const res = await client.post('/login', { username: 'tess', password: `wrong ${i}` });
      expect(res.status).toBe(401);
    }
    const blocked = await client.post('/login', { username: 'tess', password: TEST_PASSWORD });
    expect(blocked.status).toBe(429);
    expect(mainText(blocked.text)).toContain('Too many failed sign-in attempts');
  });

  it('signs out with POST /logout and the old session no longer works', async () => {
    const client = await t.signedIn('ada');
    const out = await client.post('/logout');
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/login');
    const after = await client.get('/certifications');
    expect(after.status).toBe(303);
  });

  it('ends a session after 30 idle minutes and after 8 hours whatever the activity', async () => {
    const idle = await t.signedIn('ada');
    await t.db.query(`update session set expire = now() - interval '1 second'`);
    expect((await idle.get('/certifications')).status).toBe(303);

    const long = await t.signedIn('ada');
    await t.db.query(
      `update session set sess = jsonb_set(sess::jsonb, '{signedInAt}', to_jsonb((extract(epoch from now()) * 1000 - 8 * 3600 * 1000 - 1000)::bigint))::json
        where sess->>'staffId' is not null`,
    );
    const res = await long.get('/certifications');
    expect(res.status).toBe(303);
    expect(res.headers.location).toContain('ended=timeout');
  });

  it('reads the person with their session at every page: a changed role or a disabled account counts at the next page', async () => {
    await t.createStaff('rhea', 'viewer', TEST_PASSWORD, 'Rhea');
    const client = await t.signedIn('rhea');
    expect((await client.get('/admin/staff/new')).status).toBe(403);

    await t.db.query(`update staff set role = 'admin' where username = 'rhea'`);
    expect((await client.get('/admin/staff/new')).status).toBe(200);

    await t.db.query(`update staff set disabled = true where username = 'rhea'`);
    const res = await client.get('/certifications');
    expect(res.status).toBe(303);
    expect(res.headers.location).toContain('/login');
  });

  it('writes a session in use at most once a minute: pages cost no session write, and the idle timeout moves on', async () => {
    const client = await t.signedIn('vic');
    await client.get('/certifications');
    const row = async () =>
      (
        await t.db.query<{ version: string; expire: Date }>(
          `select xmin::text as version, expire from session where sess->>'staffId' = (select id::text from staff where username = 'vic')`,
        )
      ).rows;
    const [saved] = await row();
    for (let i = 0; i < 3; i++) {
      const res = await client.get('/certifications');
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(await row()).toEqual([saved]);

    // Last saved two minutes ago, ending in a minute: the next page saves it again for 30 minutes.
    await t.db.query(
      `update session set expire = now() + interval '1 minute',
              sess = jsonb_set(sess::jsonb, '{savedAt}', to_jsonb((extract(epoch from now()) * 1000 - 120000)::bigint))::json
        where sess->>'staffId' = (select id::text from staff where username = 'vic')`,
    );
    const res = await client.get('/certifications');
    expect(res.status).toBe(200);
    expect(String(res.headers['set-cookie'])).toMatch(/^certex\.sid=.*Expires=/);
    const [renewed] = await row();
    const minutesLeft = (
      await t.db.query<{ m: number }>(`select extract(epoch from $1::timestamp - now()::timestamp) / 60 as m`, [renewed.expire])
    ).rows[0].m;
    expect(Number(minutesLeft)).toBeGreaterThan(29);
  });

  it('keeps a sign-in next path local to the app', async () => {
    const client = t.client();
    await client.get('/login');
    const res = await client.post('/login', { username: 'ada', password: TEST_PASSWORD, next: '//evil.example/x' });
    expect(res.headers.location).toBe('/certifications');
  });

  it('shows a 404 page without internals', async () => {
    const client = await t.signedIn('vic');
    const res = await client.get('/no/such/page');
    expect(res.status).toBe(404);
    expect(res.text).toContain('Page not found');
    expect(res.text).not.toMatch(/at \w+ \(|node_modules|Error:/);
  });
});
