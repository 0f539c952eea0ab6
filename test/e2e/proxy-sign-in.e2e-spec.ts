import { Logger } from '@nestjs/common';
import { AddressedClient, Answer, listenEverywhere } from '../support/addressed-client';
import { mainText, startTestApp, TestApp } from '../support/app';

/**
 * Sign-in by an authenticating reverse proxy's header. Every request here travels over real TCP
 * from a chosen loopback address (127.0.0.2, 127.0.1.5, ::1…), so the app sees that address as
 * the connection's peer, exactly as it would see a proxy on another machine.
 */
describe('sign-in through an authenticating proxy', () => {
  let t: TestApp;
  let port: number;
  const ADMINS = 'certex-admins';
  const VIEWERS = 'certex-viewers';

  beforeAll(async () => {
    t = await startTestApp({
      AUTH_PROXY_HEADER: 'X-Remote-User',
      AUTH_PROXY_GROUPS_HEADER: 'X-Remote-Groups',
      AUTH_PROXY_NAME_HEADER: 'X-Remote-Name',
      AUTH_PROXY_EMAIL_HEADER: 'X-Remote-Email',
      AUTH_PROXY_ADDRESSES: '127.0.0.2, 127.0.1.0/29, ::1',
      AUTH_PROXY_ADMIN_GROUP: ADMINS,
      AUTH_PROXY_VIEWER_GROUP: VIEWERS,
      ADMIN_EMAIL: 'certex-desk@example.org',
    });
    port = await listenEverywhere(t);
  });
  afterAll(() => t?.close());

  /** A browser behind the proxy at `from`, which names `user` with `groups` on every request. */
  const behind = (from: string, user: string, groups: string, more: Record<string, string> = {}) =>
    new AddressedClient(port, from, { 'X-Remote-User': user, 'X-Remote-Groups': groups, ...more });

  async function staffOf(subject: string) {
    const { rows } = await t.db.query<{
      id: number;
      username: string;
      display_name: string;
      email: string | null;
      role: string;
      last_sign_in_method: string | null;
    }>(
      `select id, username, display_name, email, role, last_sign_in_method from staff where identity_issuer = 'proxy' and identity_subject = $1`,
      [subject],
    );
    return rows;
  }

  const staffCount = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from staff')).rows[0].n;
  const signedInAs = (page: Answer) => /Signed in as <a[^>]*>([^<]+)<\/a>/.exec(page.text)?.[1] ?? null;
  const sentToSignIn = (page: Answer) => page.status === 303 && String(page.headers.location).startsWith('/login');

  /** The SignIn log lines written while `work` runs. */
  async function signInLines(work: () => Promise<unknown>): Promise<{ info: string[]; warn: string[] }> {
    const info = jest.spyOn(Logger.prototype, 'log');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      await work();
      const lines = (spy: typeof info) => spy.mock.calls.map((call) => String(call[0])).filter((line) => line.startsWith('sign-in:'));
      return { info: lines(info), warn: lines(warn) };
    } finally {
      info.mockRestore();
      warn.mockRestore();
    }
  }

  it('signs in the person the proxy names from a listed address, creating their account once, with the role from their groups', async () => {
    // A name from the directory arrives as UTF-8 bytes, which Node reads as Latin-1.
    const name = Buffer.from('Åsa Ölund', 'utf8').toString('latin1');
    const asa = behind('127.0.0.2', 'asa', `staff; ${ADMINS}`, { 'X-Remote-Name': name, 'X-Remote-Email': 'asa@example.org' });
    const before = await staffCount();

    const logged = await signInLines(async () => {
      const page = await asa.get('/certifications');
      expect(page.status).toBe(200);
      expect(signedInAs(page)).toBe('Åsa Ölund');
    });
    const [account] = await staffOf('asa');
    expect(account).toMatchObject({ username: 'asa', display_name: 'Åsa Ölund', email: 'asa@example.org', role: 'admin' });
    expect(account.last_sign_in_method).toBe('proxy');
    expect(logged.info).toEqual([
      expect.stringMatching(new RegExp(`^sign-in: outcome="signed-in" method="proxy" staff_id=${account.id} address=".*127\\.0\\.0\\.2"$`)),
    ]);

    // The next pages use the session: no second account, no second sign-in.
    const again = await signInLines(async () => {
      for (const path of ['/learners', '/admin/staff/new', '/certifications']) expect((await asa.get(path)).status).toBe(200);
    });
    expect(again.info).toEqual([]);
    expect(await staffCount()).toBe(before + 1);
    expect(await staffOf('asa')).toHaveLength(1);
  });

  it('creates one account for first sign-ins that arrive at once', async () => {
    const before = await staffCount();
    const pages = await Promise.all(Array.from({ length: 6 }, () => behind('127.0.0.2', 'bo', VIEWERS).get('/certifications')));
    expect(pages.map((page) => page.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await staffOf('bo')).toHaveLength(1);
    expect(await staffCount()).toBe(before + 1);
  });

  it('changes the role when the groups the proxy sends change, on the same browser', async () => {
    const cy = behind('127.0.0.2', 'cy', ADMINS);
    expect((await cy.get('/admin/staff/new')).status).toBe(200);
    expect((await staffOf('cy'))[0].role).toBe('admin');

    cy.headers['X-Remote-Groups'] = VIEWERS;
    expect((await cy.get('/certifications')).status).toBe(200);
    expect((await staffOf('cy'))[0].role).toBe('viewer');
    expect((await cy.get('/admin/staff/new')).status).toBe(403);

    cy.headers['X-Remote-Groups'] = `${VIEWERS},${ADMINS}`;
    expect((await cy.get('/admin/staff/new')).status).toBe(200);
    expect((await staffOf('cy'))[0].role).toBe('admin');
    expect(await staffOf('cy')).toHaveLength(1);
  });

  it('refuses a person in neither group with the 403 page, creating nothing, and logs the refusal', async () => {
    const before = await staffCount();
    const logged = await signInLines(async () => {
      const page = await behind('127.0.0.2', 'dee', 'staff, everyone').get('/certifications');
      expect(page.status).toBe(403);
      expect(mainText(page.text)).toContain('Your account is not allowed to use Certex');
      expect(page.text).toContain('mailto:certex-desk@example.org');
      expect(signedInAs(page)).toBeNull();
    });
    expect(await staffCount()).toBe(before);
    expect(await staffOf('dee')).toEqual([]);
    expect(logged.warn).toEqual([
      expect.stringMatching(
        /^sign-in: outcome="refused" method="proxy" reason="not-allowed" subject="dee" peer="::ffff:127\.0\.0\.2" address=/,
      ),
    ]);
  });

  it('ends the session of a person taken out of both groups', async () => {
    const ed = behind('127.0.0.2', 'ed', VIEWERS);
    expect((await ed.get('/certifications')).status).toBe(200);
    ed.headers['X-Remote-Groups'] = 'staff';
    expect((await ed.get('/certifications')).status).toBe(403);
    // Even with no header at all now, the old session is gone.
    ed.headers = {};
    expect(sentToSignIn(await ed.get('/certifications'))).toBe(true);
    expect((await staffOf('ed'))[0].role).toBe('viewer');
  });

  it('refuses a disabled account with the 403 page', async () => {
    expect((await behind('127.0.0.2', 'fay', VIEWERS).get('/certifications')).status).toBe(200);
    await t.db.query(`update staff set disabled = true where identity_issuer = 'proxy' and identity_subject = 'fay'`);
    const page = await behind('127.0.0.2', 'fay', VIEWERS).get('/certifications');
    expect(page.status).toBe(403);
    expect(mainText(page.text)).toContain('Your Certex account has been disabled');
  });

  it('switches to the person the header names when it names another than the session’s', async () => {
    const shared = behind('127.0.0.2', 'gus', VIEWERS, { 'X-Remote-Name': 'Gus' });
    expect(signedInAs(await shared.get('/certifications'))).toBe('Gus');
    shared.headers['X-Remote-User'] = 'hal';
    shared.headers['X-Remote-Name'] = 'Hal';
    expect(signedInAs(await shared.get('/certifications'))).toBe('Hal');
  });

  it('ignores the header from an address not listed, sending the person to sign in, and logs it once for the request', async () => {
    const before = await staffCount();
    const stranger = behind('127.0.0.3', 'ida', ADMINS);
    const logged = await signInLines(async () => {
      expect(sentToSignIn(await stranger.get('/certifications'))).toBe(true);
    });
    expect(logged.info).toEqual([]);
    expect(logged.warn).toEqual([
      expect.stringMatching(
        /^sign-in: outcome="ignored" method="proxy" reason="header-from-unlisted-address" header="x-remote-user" value="ida" peer="::ffff:127\.0\.0\.3" address=/,
      ),
    ]);
    expect(await staffCount()).toBe(before);

    // X-Forwarded-For naming a listed proxy changes nothing: only the connection's own peer counts.
    const forged = behind('127.0.0.3', 'ida', ADMINS, { 'X-Forwarded-For': '127.0.0.2' });
    expect(sentToSignIn(await forged.get('/certifications'))).toBe(true);
    // Nor does the sign-in page let them in.
    const login = await stranger.get('/login');
    expect(login.status).toBe(200);
    expect(signedInAs(login)).toBeNull();
    expect(await staffOf('ida')).toEqual([]);
  });

  it('believes a listed CIDR range and a listed IPv6 address, and nothing just outside the range', async () => {
    const inRange = await behind('127.0.1.5', 'jo', VIEWERS).get('/certifications');
    expect(inRange.status).toBe(200);
    expect(await staffOf('jo')).toHaveLength(1);

    const outside = await signInLines(async () => {
      expect(sentToSignIn(await behind('127.0.1.9', 'kit', VIEWERS).get('/certifications'))).toBe(true);
    });
    expect(outside.warn).toEqual([expect.stringContaining('peer="::ffff:127.0.1.9"')]);
    expect(await staffOf('kit')).toEqual([]);

    const overIpv6 = await behind('::1', 'lou', ADMINS).get('/admin/staff/new');
    expect(overIpv6.status).toBe(200);
    expect((await staffOf('lou'))[0].role).toBe('admin');
  });

  it('believes neither of two header lines, as a proxy that adds to the client’s header instead of replacing it would send', async () => {
    const doubled = new AddressedClient(port, '127.0.0.2', { 'X-Remote-User': ['mo', 'ned'], 'X-Remote-Groups': ADMINS });
    const logged = await signInLines(async () => {
      expect(sentToSignIn(await doubled.get('/certifications'))).toBe(true);
    });
    expect(logged.warn).toEqual([expect.stringContaining('reason="header-repeated"')]);
    const groupsTwice = new AddressedClient(port, '127.0.0.2', { 'X-Remote-User': 'ned', 'X-Remote-Groups': ['staff', ADMINS] });
    expect(sentToSignIn(await groupsTwice.get('/certifications'))).toBe(true);
    expect(await staffOf('mo')).toEqual([]);
    expect(await staffOf('ned')).toEqual([]);
  });

  it('signs out to a page that does not sign the person straight back in; the next other page does', async () => {
    const pat = behind('127.0.0.2', 'pat', VIEWERS, { 'X-Remote-Name': 'Pat' });
    expect((await pat.get('/certifications')).status).toBe(200);
    const out = await pat.post('/logout');
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe('/signed-out');

    const logged = await signInLines(async () => {
      const page = await pat.get('/signed-out');
      expect(page.status).toBe(200);
      expect(mainText(page.text)).toContain('You have signed out of Certex');
      expect(mainText(page.text)).toContain('sign out of the intranet or close your browser');
      expect(signedInAs(page)).toBeNull();
    });
    expect(logged.info).toEqual([]);
    const { rows } = await t.db.query(`select 1 from session where (sess->>'staffId')::int = $1`, [(await staffOf('pat'))[0].id]);
    expect(rows).toEqual([]);

    // Documented: the proxy still vouches for them, so any other page signs them in again.
    expect(signedInAs(await pat.get('/certifications'))).toBe('Pat');
  });

  it('leaves password sign-in as it was for connections that are not the proxy', async () => {
    await t.createStaff('quinn', 'admin', undefined, 'Quinn');
    const quinn = await t.signedIn('quinn');
    const page = await quinn.get('/certifications');
    expect(page.status).toBe(200);
    const out = await quinn.post('/logout');
    expect(out.headers.location).toBe('/login');
  });
});
