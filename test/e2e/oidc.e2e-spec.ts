import { mainText, TEST_PASSWORD, TestClient, csrfFrom } from '../support/app';
import {
  ADMIN_GROUP,
  certexClient,
  freePort,
  OidcTestApp,
  singleSignOn,
  startOidcTestApp,
  startTestProvider,
  TestProvider,
  VIEWER_GROUP,
} from '../support/oidc';

/**
 * Single sign-on against a real OpenID provider (oidc-provider, in its own process): the
 * authorization code flow with state, nonce and PKCE, roles from groups at every sign-in, staff
 * matched by issuer and subject only, refusals that create nothing, and sign-out at the provider.
 */

let accounts = 0;
/** A provider account of its own for each test, so that tests never share a person. */
async function account(t: OidcTestApp, claims: Record<string, unknown>): Promise<string> {
  const sub = `person-${++accounts}-${Math.random().toString(36).slice(2, 8)}`;
  await t.provider.setAccount(sub, claims);
  return sub;
}

/** The page with the entities Handlebars writes in attributes turned back, for readable expectations. */
const html = (text: string) => text.replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');

const staffCount = async (t: OidcTestApp) => Number((await t.db.query('select count(*) from staff')).rows[0].count);
const staffOf = async (t: OidcTestApp, sub: string) =>
  (await t.db.query('select * from staff where identity_issuer = $1 and identity_subject = $2', [t.provider.issuer, sub])).rows;

/** Who the session belongs to, from the header of a page; null when the page asks to sign in. */
async function signedInAs(client: TestClient): Promise<string | null> {
  const res = await client.get('/certifications');
  if (res.status === 303) return null;
  return /Signed in as <a[^>]*>([^<]+)<\/a>/.exec(res.text)?.[1] ?? '(no name shown)';
}

describe('single sign-on with an OpenID provider', () => {
  let t: OidcTestApp;

  beforeAll(async () => {
    t = await startOidcTestApp();
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
  });
  afterAll(() => t?.close());

  it('offers single sign-on on the sign-in page, beside the password form, as a link that works without JavaScript', async () => {
    const page = await t.client().get('/login?next=%2Fcourses');
    expect(page.status).toBe(200);
    expect(html(page.text)).toContain(
      '<a class="app-button" href="/auth/oidc/start?next=%2Fcourses" target="_top">Sign in with single sign-on</a>',
    );
    expect(page.text).toContain('name="password"');
    // Sign-out's redirect to the provider is a form's answer: the provider is allowed in form-action.
    expect(page.headers['content-security-policy']).toContain(`form-action 'self' ${t.provider.issuer}`);
    // A next address on another site is dropped, not passed on.
    expect((await t.client().get('/login?next=%2F%2Fevil.example%2F')).text).toContain('href="/auth/oidc/start"');
  });

  it('signs in a person of the administrators group as a site administrator, and creates their account once', async () => {
    const sub = await account(t, {
      name: 'Alice Admin',
      email: 'alice@example.org',
      preferred_username: 'alice',
      groups: [ADMIN_GROUP, 'somewhere-else'],
    });
    const before = await staffCount(t);
    const client = t.client();
    const { res, askedWhoItIs } = await singleSignOn(t, client, sub, { next: '/admin/staff' });
    expect(askedWhoItIs).toBe(true);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/admin/staff');
    expect(await signedInAs(client)).toBe('Alice Admin');
    expect(await staffCount(t)).toBe(before + 1);
    const [row] = await staffOf(t, sub);
    expect(row).toMatchObject({ username: 'alice', display_name: 'Alice Admin', email: 'alice@example.org', role: 'admin' });
    expect(row.password_hash).toBeNull();
    expect(row.last_sign_in_method).toBe('oidc');
    // A site administrator may change things.
    const created = await client.post('/courses', { shortName: 'SSO1', fullName: 'Made after single sign-on' });
    expect(created.status).toBe(303);
  });

  it('signs in a person of the viewer group as a viewer, who can view but not change, with groups given as one string', async () => {
    const sub = await account(t, { name: 'Victor Viewer', email: 'victor@example.org', groups: `other, ${VIEWER_GROUP}` });
    const client = t.client();
    const { res } = await singleSignOn(t, client, sub);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/certifications');
    expect(await signedInAs(client)).toBe('Victor Viewer');
    expect((await staffOf(t, sub))[0].role).toBe('viewer');
    expect((await client.get('/courses')).status).toBe(200);
    const refused = await client.post('/courses', { shortName: 'SSO2', fullName: 'Not allowed' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('Only a site administrator can change anything');
    expect((await t.db.query(`select count(*) from course where short_name = 'SSO2'`)).rows[0].count).toBe('0');
  });

  it('refuses a person in neither group with a 403 page, creating no account and no session', async () => {
    const sub = await account(t, { name: 'Nina Nogroup', email: 'nina@example.org', groups: ['somewhere-else'] });
    const before = await staffCount(t);
    const client = t.client();
    const { res } = await singleSignOn(t, client, sub);
    expect(res.status).toBe(403);
    expect(res.text).toContain('<title>Not allowed to use Certex – Certex</title>');
    expect(mainText(res.text)).toContain('it is not in a group that Certex lets in');
    expect(await staffCount(t)).toBe(before);
    expect(await signedInAs(client)).toBeNull();
  });

  it('takes the role from the groups at every sign-in, and refuses the same person once they are in neither', async () => {
    const sub = await account(t, { name: 'Gus Groups', groups: [ADMIN_GROUP] });
    const first = t.client();
    await singleSignOn(t, first, sub);
    const [created] = await staffOf(t, sub);
    expect(created.role).toBe('admin');

    await t.provider.setAccount(sub, { name: 'Gus Groups', groups: [VIEWER_GROUP] });
    const second = t.client();
    expect((await singleSignOn(t, second, sub)).res.status).toBe(303);
    const [changed] = await staffOf(t, sub);
    expect({ id: changed.id, role: changed.role }).toEqual({ id: created.id, role: 'viewer' });
    expect((await second.post('/courses', { shortName: 'SSO3', fullName: 'No longer allowed' })).status).toBe(403);

    await t.provider.setAccount(sub, { name: 'Gus Groups', groups: [] });
    const third = t.client();
    expect((await singleSignOn(t, third, sub)).res.status).toBe(403);
    expect(await signedInAs(third)).toBeNull();
    expect(await staffOf(t, sub)).toHaveLength(1);
  });

  it('refuses a callback whose state was tampered with: a 400 page that offers to try again, nothing created, and the sign-in used up', async () => {
    const sub = await account(t, { name: 'Tess Tamper', groups: [ADMIN_GROUP] });
    const before = await staffCount(t);
    const client = t.client();
    let genuine = '';
    const { res, callback } = await singleSignOn(t, client, sub, {
      next: '/courses',
      alterCallback: (c) => (genuine = c).replace(/([?&]state=)[^&]+/, '$1forged'),
    });
    expect(callback).toContain('state=forged');
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: Sign-in failed – Certex</title>');
    expect(mainText(res.text)).toContain('could not match this answer');
    expect(html(res.text)).toContain('href="/auth/oidc/start?next=%2Fcourses" target="_top">Try signing in again</a>');
    expect(await staffCount(t)).toBe(before);
    expect(await signedInAs(client)).toBeNull();
    // The genuine answer, arriving after the forged one, finds no sign-in under way.
    expect(genuine).not.toContain('state=forged');
    expect((await client.agent.get(genuine)).status).toBe(400);
    expect(await signedInAs(client)).toBeNull();

    // A callback with no sign-in started in this browser, and one without a state at all.
    expect((await t.client().agent.get('/auth/oidc/callback?code=abc&state=def')).status).toBe(400);
    const noState = t.client();
    await noState.agent.get('/auth/oidc/start');
    expect((await noState.agent.get('/auth/oidc/callback?code=abc')).status).toBe(400);
    expect(await staffCount(t)).toBe(before);
  });

  it('refuses a replayed code: the provider will not exchange it twice, and no session starts', async () => {
    const sub = await account(t, { name: 'Ray Replay', groups: [ADMIN_GROUP] });
    const victim = t.client();
    const { callback } = await singleSignOn(t, victim, sub);
    expect(await signedInAs(victim)).toBe('Ray Replay');

    // The same answer again in the same browser: that sign-in is used up.
    expect((await victim.agent.get(callback)).status).toBe(400);

    // An attacker who copied the answer starts a sign-in of their own and presents the used code with their state.
    const attacker = t.client();
    const started = await attacker.agent.get('/auth/oidc/start');
    const attackerState = new URL(started.headers.location).searchParams.get('state')!;
    const replay = await attacker.agent.get(callback.replace(/([?&]state=)[^&]+/, `$1${attackerState}`));
    expect(replay.status).toBe(400);
    expect(mainText(replay.text)).toContain('refused to complete this sign-in');
    expect(mainText(replay.text)).toContain('invalid_grant');
    expect(await signedInAs(attacker)).toBeNull();
  });

  it('shows a clear page when the person cancels at the provider (access_denied)', async () => {
    const client = t.client();
    const before = await staffCount(t);
    const { res } = await singleSignOn(t, client, null);
    expect(res.status).toBe(400);
    expect(mainText(res.text)).toContain('did not sign you in: the sign-in was cancelled or refused');
    expect(mainText(res.text)).toContain('access_denied: The person cancelled the sign-in');
    expect(await signedInAs(client)).toBeNull();
    expect(await staffCount(t)).toBe(before);
  });

  it('keeps two provider accounts with the same email apart: two Certex accounts that never sign in as each other', async () => {
    // A password account with that email is not taken over either.
    const localId = await t.createStaff('sam', 'viewer', TEST_PASSWORD, 'Sam Local');
    await t.db.query(`update staff set email = 'sam@example.org' where id = $1`, [localId]);
    const one = await account(t, { name: 'Sam One', email: 'sam@example.org', preferred_username: 'sam', groups: [ADMIN_GROUP] });
    const two = await account(t, { name: 'Sam Two', email: 'sam@example.org', preferred_username: 'sam', groups: [VIEWER_GROUP] });

    const first = t.client();
    await singleSignOn(t, first, one);
    const second = t.client();
    await singleSignOn(t, second, two);
    expect(await signedInAs(first)).toBe('Sam One');
    expect(await signedInAs(second)).toBe('Sam Two');

    const [rowOne] = await staffOf(t, one);
    const [rowTwo] = await staffOf(t, two);
    expect(new Set([rowOne.id, rowTwo.id, localId]).size).toBe(3);
    expect([rowOne.role, rowTwo.role]).toEqual(['admin', 'viewer']);
    expect(new Set([rowOne.username, rowTwo.username, 'sam']).size).toBe(3);

    // Signing in as the second person in the first person's browser, after signing out, is the second person.
    await first.post('/logout');
    await singleSignOn(t, first, two);
    expect(await signedInAs(first)).toBe('Sam Two');
    expect(await staffOf(t, two)).toHaveLength(1);
  });

  it('signs out of Certex and at the provider, and comes back to the sign-in page saying so', async () => {
    const sub = await account(t, { name: 'Olga Out', groups: [ADMIN_GROUP] });
    const client = t.client();
    const atProvider = t.provider.agent();
    await singleSignOn(t, client, sub, { atProvider });
    expect(await signedInAs(client)).toBe('Olga Out');
    const [staff] = await staffOf(t, sub);
    const { rows } = await t.db.query(`select sess from session where (sess->>'staffId')::int = $1`, [staff.id]);
    expect(rows).toHaveLength(1);
    const idToken = rows[0].sess.oidcIdToken;
    expect(idToken).toMatch(/^ey/);

    const out = await client.post('/logout');
    expect(out.status).toBe(303);
    const endSession = new URL(out.headers.location);
    expect(endSession.origin + endSession.pathname).toBe(`${t.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${t.origin}/login?ended=signed-out`);
    expect(endSession.searchParams.get('client_id')).toBe('certex');
    expect(endSession.searchParams.get('id_token_hint')).toBe(idToken);
    // The Certex session has ended already.
    expect(await signedInAs(client)).toBeNull();

    // At the provider: its sign-out page, then back to Certex.
    const confirm = await atProvider.get(endSession.pathname + endSession.search);
    expect(confirm.status).toBe(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.text)![1];
    const action = new URL(/action="([^"]+)"/.exec(confirm.text)![1], t.provider.issuer);
    const done = await atProvider.post(action.pathname).type('form').send({ xsrf, logout: 'yes' });
    expect([302, 303]).toContain(done.status);
    expect(done.headers.location).toBe(`${t.origin}/login?ended=signed-out`);
    const back = await client.get(new URL(done.headers.location).pathname + '?ended=signed-out');
    expect(mainText(back.text)).toContain('You have signed out.');

    // The provider's session ended too: the next sign-in asks who it is again.
    expect((await singleSignOn(t, t.client(), sub, { atProvider })).askedWhoItIs).toBe(true);
  });

  it('signs out of a password session to the sign-in page, not to the provider', async () => {
    const client = await t.signedIn('ada');
    const out = await client.post('/logout');
    expect(out.headers.location).toBe('/login');
  });
});

describe('single sign-on under BASE_PATH, with the claims from userinfo', () => {
  let t: OidcTestApp;

  beforeAll(async () => {
    t = await startOidcTestApp({ BASE_PATH: '/intranet/certex' }, { claimsIn: 'userinfo', groupsClaim: 'roles' });
  });
  afterAll(() => t?.close());

  it('signs in, with every address under the base path, and signs out at the provider back to the base path', async () => {
    const sub = await account(t, { given_name: 'Uma', family_name: 'Userinfo', email: 'uma@example.org', roles: [ADMIN_GROUP] });
    const client = t.client();
    const login = await client.get('/login?next=%2Fintranet%2Fcertex%2Fcourses');
    expect(html(login.text)).toContain('href="/intranet/certex/auth/oidc/start?next=%2Fintranet%2Fcertex%2Fcourses"');
    const { res, callback } = await singleSignOn(t, client, sub, { next: '/intranet/certex/courses' });
    expect(callback.startsWith('/intranet/certex/auth/oidc/callback?')).toBe(true);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/intranet/certex/courses');
    expect(await signedInAs(client)).toBe('Uma Userinfo');
    const [row] = await staffOf(t, sub);
    expect(row).toMatchObject({ role: 'admin', email: 'uma@example.org', username: 'uma@example.org' });
    // The ID token held none of it: the name, email and roles came from userinfo.
    const { rows } = await t.db.query(`select sess from session where (sess->>'staffId')::int = $1`, [row.id]);
    const idClaims = JSON.parse(Buffer.from(rows[0].sess.oidcIdToken.split('.')[1], 'base64url').toString());
    expect(idClaims).toMatchObject({ sub, iss: t.provider.issuer });
    expect(Object.keys(idClaims).filter((k) => ['roles', 'email', 'given_name', 'family_name'].includes(k))).toEqual([]);

    const out = await client.post('/logout');
    const endSession = new URL(out.headers.location);
    expect(endSession.origin).toBe(t.provider.issuer);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${t.origin}/intranet/certex/login?ended=signed-out`);
    expect(await signedInAs(client)).toBeNull();
  });

  it('refuses a person whose groups claim (here roles) names neither group', async () => {
    const sub = await account(t, { name: 'Gita Groups', groups: [ADMIN_GROUP], roles: ['other'] });
    const { res } = await singleSignOn(t, t.client(), sub);
    expect(res.status).toBe(403);
    expect(await staffOf(t, sub)).toHaveLength(0);
  });
});

describe('with LOCAL_SIGN_IN=false', () => {
  let t: OidcTestApp;

  beforeAll(async () => {
    t = await startOidcTestApp({ LOCAL_SIGN_IN: 'false' });
    await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
  });
  afterAll(() => t?.close());

  it('shows no password form, and refuses a password sign-in even with a valid token and the right password', async () => {
    const page = await t.client().get('/login');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in with single sign-on');
    expect(page.text).not.toContain('name="password"');
    expect(page.text).not.toContain('name="username"');

    // A session with a valid form token (here one signed in through the provider) tries to sign in as ada.
    const sub = await account(t, { name: 'Sid Sso', groups: [VIEWER_GROUP] });
    const client = t.client();
    await singleSignOn(t, client, sub);
    const token = csrfFrom((await client.get('/certifications')).text);
    expect(token).toBeTruthy();
    const attempts = Number((await t.db.query('select count(*) from login_attempt')).rows[0].count);
    const refused = await client.post('/login', { username: 'ada', password: TEST_PASSWORD });
    expect(refused.status).toBe(403);
    expect(mainText(refused.text)).toContain('Signing in with a Certex password is switched off');
    expect(await signedInAs(client)).toBe('Sid Sso');
    const ada = (await t.db.query(`select last_signed_in_at from staff where username = 'ada'`)).rows[0];
    expect(ada.last_signed_in_at).toBeNull();
    expect(Number((await t.db.query('select count(*) from login_attempt')).rows[0].count)).toBe(attempts);
  });
});

describe('a provider that starts after Certex', () => {
  let t: OidcTestApp;
  let provider: TestProvider | null = null;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    t = await startOidcTestApp({}, { provider: null, issuer: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await t?.close();
    await provider?.stop();
  });

  it('says the sign-in service is out of reach, then signs in once it is up, without a restart', async () => {
    const down = await t.client().agent.get('/auth/oidc/start');
    expect(down.status).toBe(503);
    expect(mainText(down.text)).toContain('could not reach your organisation’s sign-in service');

    provider = await startTestProvider([certexClient(t.origin, '')], { port });
    const sub = `late-${Date.now()}`;
    await provider.setAccount(sub, { name: 'Lara Late', groups: [ADMIN_GROUP] });
    const client = t.client();
    const { res } = await singleSignOn({ provider, origin: t.origin }, client, sub);
    expect(res.status).toBe(303);
    expect(await signedInAs(client)).toBe('Lara Late');
  });
});
