import { Logger } from '@nestjs/common';
import { mainText, startTestApp, TestApp, TestClient, TEST_PASSWORD } from '../support/app';

/** Admin › Staff: how and when each person signs in, ending a person's sessions, and the sign-in log. */
describe('sessions under control on Admin › Staff', () => {
  let t: TestApp;
  let adaId: number;
  let admin: TestClient;

  beforeAll(async () => {
    t = await startTestApp();
    adaId = await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
    await t.createStaff('vic', 'viewer', TEST_PASSWORD, 'Vic Viewer');
    admin = await t.signedIn('ada');
  });
  afterAll(() => t?.close());

  const sessionsOf = async (id: number) =>
    (await t.db.query<{ n: number }>(`select count(*)::int as n from session where (sess->>'staffId')::int = $1`, [id])).rows[0].n;
  const sentToSignIn = async (client: TestClient) => {
    const res = await client.agent.get('/certifications');
    return res.status === 303 && String(res.headers.location).startsWith('/login');
  };
  /** The list's row of one person, as text. */
  const rowOf = (html: string, name: string) => mainText((html.match(/<tr[\s\S]*?<\/tr>/g) ?? []).find((row) => row.includes(name)) ?? '');

  /** Log lines that start with `prefix`, written while `work` runs, by level. */
  async function logged(prefix: string, work: () => Promise<unknown>): Promise<{ info: string[]; warn: string[] }> {
    const info = jest.spyOn(Logger.prototype, 'log');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      await work();
      const lines = (spy: typeof info) => spy.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith(prefix));
      return { info: lines(info), warn: lines(warn) };
    } finally {
      info.mockRestore();
      warn.mockRestore();
    }
  }

  it('lists each person’s sign-in method and last sign-in, or how a person who never signed in can', async () => {
    const insert = (username: string, name: string, columns: string, values: string) =>
      t.db.query(`insert into staff (username, display_name, role${columns}) values ($1, $2, 'viewer'${values})`, [username, name]);
    await t.createStaff('never', 'viewer', TEST_PASSWORD, 'Never Signed');
    await insert('sso-new', 'Sso Newcomer', ', identity_issuer, identity_subject', `, 'https://id.example.org', 'sub-1'`);
    await insert('proxy-new', 'Proxy Newcomer', ', identity_issuer, identity_subject', `, 'proxy', 'proxy-new'`);
    await insert(
      'proxy-seen',
      'Proxy Regular',
      ', identity_issuer, identity_subject, last_signed_in_at, last_sign_in_method',
      `, 'proxy', 'proxy-seen', '2026-11-30T12:00:00Z', 'proxy'`,
    );
    await insert(
      'sso-seen',
      'Sso Regular',
      ', identity_issuer, identity_subject, last_signed_in_at, last_sign_in_method',
      `, 'https://id.example.org', 'sub-2', '2026-11-29T12:00:00Z', 'oidc'`,
    );

    const list = await admin.get('/admin/staff');
    expect(list.text).toContain('<th scope="col" class="app-table__header">Signs in with</th>');
    expect(list.text).toContain('<th scope="col" class="app-table__header">Last signed in</th>');
    expect(rowOf(list.text, 'Never Signed')).toMatch(/Active Password Never$/);
    expect(rowOf(list.text, 'Sso Newcomer')).toMatch(/Active Single sign-on Never$/);
    expect(rowOf(list.text, 'Proxy Newcomer')).toMatch(/Active Intranet sign-on \(proxy\) Never$/);
    expect(rowOf(list.text, 'Proxy Regular')).toMatch(/Active Intranet sign-on \(proxy\) 30 Nov 2026/);
    expect(rowOf(list.text, 'Sso Regular')).toMatch(/Active Single sign-on 29 Nov 2026/);
    // Ada signed in with her password just now: recorded at sign-in.
    const ada = rowOf(list.text, 'Ada Admin');
    expect(ada).toMatch(/Active Password \d{1,2} \w{3} \d{4}/);
    expect(ada).not.toContain('Never');

    const page = await admin.get(`/admin/staff/${adaId}`);
    expect(mainText(page.text)).toMatch(/Signs in with Password Last signed in \d{1,2} \w{3} \d{4}/);
    const neverId = (await t.db.query(`select id from staff where username = 'never'`)).rows[0].id;
    expect(mainText((await admin.get(`/admin/staff/${neverId}`)).text)).toContain('Signs in with Password Last signed in Never');
  });

  it('ends every session of a person at once, audited: each of their browsers is sent to sign in on its next request', async () => {
    const samId = await t.createStaff('sam', 'viewer', TEST_PASSWORD, 'Sam Staff');
    const [samAtDesk, samAtHome] = [await t.signedIn('sam'), await t.signedIn('sam')];
    expect(await sessionsOf(samId)).toBe(2);

    const page = await admin.get(`/admin/staff/${samId}`);
    expect(page.text).toContain(`action="/admin/staff/${samId}/sessions/end"`);
    expect(mainText(page.text)).toContain('End all sessions');

    const audit = await logged('sessions ended:', async () => {
      const ended = await admin.post(`/admin/staff/${samId}/sessions/end`);
      expect(ended.status).toBe(303);
      expect(ended.headers.location).toBe(`/admin/staff/${samId}`);
    });
    expect(audit.info).toEqual([`sessions ended: staff_id=${samId} username="sam" sessions=2 by_staff_id=${adaId}`]);
    expect(mainText((await admin.get(`/admin/staff/${samId}`)).text)).toContain('All sessions of Sam Staff ended');
    expect(await sessionsOf(samId)).toBe(0);
    expect(await sentToSignIn(samAtDesk)).toBe(true);
    expect(await sentToSignIn(samAtHome)).toBe(true);
    // The administrator who did it carries on; Sam can sign in again.
    expect((await admin.get('/certifications')).status).toBe(200);
    expect((await (await t.signedIn('sam')).get('/certifications')).status).toBe(200);
  });

  it('signs out an administrator who ends their own sessions, everywhere', async () => {
    const bea = await t.createStaff('bea', 'admin', TEST_PASSWORD, 'Bea Admin');
    const [here, elsewhere] = [await t.signedIn('bea'), await t.signedIn('bea')];
    await here.get(`/admin/staff/${bea}`);
    const ended = await here.post(`/admin/staff/${bea}/sessions/end`);
    expect(ended.status).toBe(303);
    expect(ended.headers.location).toBe('/login');
    expect(await sentToSignIn(here)).toBe(true);
    expect(await sentToSignIn(elsewhere)).toBe(true);
    expect(await sessionsOf(bea)).toBe(0);
  });

  it('refuses ending sessions to a viewer and without the CSRF token, leaving them as they were', async () => {
    const kimId = await t.createStaff('kim', 'viewer', TEST_PASSWORD, 'Kim');
    const kim = await t.signedIn('kim');
    const viewer = await t.signedIn('vic');

    const byViewer = await viewer.post(`/admin/staff/${kimId}/sessions/end`);
    expect(byViewer.status).toBe(403);
    expect(mainText(byViewer.text)).toContain('Only a site administrator can change anything');

    const withoutToken = await admin.agent.post(`/admin/staff/${kimId}/sessions/end`).type('form').send({});
    expect(withoutToken.status).toBe(403);
    const wrongToken = await admin.agent.post(`/admin/staff/${kimId}/sessions/end`).type('form').send({ _csrf: 'not-the-token' });
    expect(wrongToken.status).toBe(403);

    expect(await sessionsOf(kimId)).toBe(1);
    expect(await sentToSignIn(kim)).toBe(false);
  });

  it('still ends a person’s sessions at once when they are disabled', async () => {
    const lenId = await t.createStaff('len', 'viewer', TEST_PASSWORD, 'Len');
    const len = await t.signedIn('len');
    expect(await sessionsOf(lenId)).toBe(1);
    const saved = await admin.post(`/admin/staff/${lenId}`, { displayName: 'Len', role: 'viewer', disabled: 'yes' });
    expect(saved.status).toBe(303);
    expect(await sessionsOf(lenId)).toBe(0);
    expect(await sentToSignIn(len)).toBe(true);
    const { rows } = await t.db.query(`select disabled from staff where id = $1`, [lenId]);
    expect(rows[0].disabled).toBe(true);
  });

  it('logs a password sign-in, a wrong password and a throttled attempt, one structured line each', async () => {
    const id = await t.createStaff('max', 'viewer', TEST_PASSWORD, 'Max');
    const ok = await logged('sign-in:', () => t.signedIn('max'));
    expect(ok.info).toEqual([
      expect.stringMatching(new RegExp(`^sign-in: outcome="signed-in" method="password" staff_id=${id} address="[^"]+"$`)),
    ]);
    expect(ok.warn).toEqual([]);

    const visitor = t.client();
    await visitor.get('/login');
    const wrong = await logged('sign-in:', async () => {
      expect((await visitor.post('/login', { username: 'max', password: 'not the password' })).status).toBe(401);
    });
    expect(wrong.warn).toEqual([
      expect.stringMatching(
        /^sign-in: outcome="refused" method="password" reason="wrong-username-or-password" username="max" address="[^"]+"$/,
      ),
    ]);
    expect(wrong.info).toEqual([]);

    for (let i = 0; i < 4; i++) await visitor.post('/login', { username: 'max', password: `wrong ${i}` });
    const throttled = await logged('sign-in:', async () => {
      expect((await visitor.post('/login', { username: 'max', password: TEST_PASSWORD })).status).toBe(429);
    });
    expect(throttled.warn).toEqual([
      expect.stringMatching(/^sign-in: outcome="refused" method="password" reason="throttled" username="max" address="[^"]+"$/),
    ]);
    expect(throttled.info).toEqual([]);
  });
});
