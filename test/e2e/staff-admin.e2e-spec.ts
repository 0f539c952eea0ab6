import { mainText, startTestApp, TestApp, TEST_PASSWORD } from '../support/app';

describe('staff accounts', () => {
  let t: TestApp;
  let adaId: number;

  beforeAll(async () => {
    t = await startTestApp();
    adaId = await t.createStaff('ada', 'admin', TEST_PASSWORD, 'Ada Admin');
  });
  afterAll(() => t.close());

  it('creates a staff account who can then sign in, with argon2id hashing', async () => {
    const admin = await t.signedIn('ada');
    const res = await admin.post('/admin/staff', {
      username: 'bob',
      displayName: 'Bob Viewer',
      role: 'viewer',
      password: 'a long enough password',
    });
    expect(res.status).toBe(303);
    const list = await admin.get('/admin/staff');
    expect(mainText(list.text)).toContain('Staff account “Bob Viewer” created');
    expect(mainText(list.text)).toContain('Bob Viewer bob Viewer Active');
    const hash = (await t.db.query(`select password_hash from staff where username = 'bob'`)).rows[0].password_hash;
    expect(hash).toMatch(/^\$argon2id\$/);
    await expect(t.signedIn('bob', 'a long enough password')).resolves.toBeTruthy();
  });

  it('re-renders the form with every error and the answers kept', async () => {
    const admin = await t.signedIn('ada');
    const res = await admin.post('/admin/staff', { username: 'bad name!', displayName: '', role: 'nobody', password: 'short' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: Add a staff account – Staff – Certex</title>');
    const text = mainText(res.text);
    expect(text).toContain('Username can only contain letters, digits and . _ @ -');
    expect(text).toContain('Enter the person’s name');
    expect(text).toContain('Choose a role');
    expect(text).toContain('Password must be at least 12 characters');
    expect(res.text).toContain('value="bad name!"');
    const duplicate = await admin.post('/admin/staff', {
      username: 'ADA',
      displayName: 'Another Ada',
      role: 'viewer',
      password: 'a long enough password',
    });
    expect(mainText(duplicate.text)).toContain('There is already a staff account with this username');
  });

  it('changes a role and disables an account, which ends its sessions and stops sign-in', async () => {
    const carolId = await t.createStaff('carol', 'viewer', TEST_PASSWORD, 'Carol');
    const carol = await t.signedIn('carol');
    const admin = await t.signedIn('ada');
    expect((await admin.post(`/admin/staff/${carolId}`, { displayName: 'Carol C', role: 'admin' })).status).toBe(303);
    expect((await t.db.query('select role, display_name from staff where id = $1', [carolId])).rows[0]).toEqual({
      role: 'admin',
      display_name: 'Carol C',
    });
    expect((await admin.post(`/admin/staff/${carolId}`, { displayName: 'Carol C', role: 'admin', disabled: 'yes' })).status).toBe(303);
    expect((await carol.get('/certifications')).status).toBe(303);
    await expect(t.signedIn('carol')).rejects.toThrow(/failed with 401/);
  });

  it('ends the sessions of a person whose password an administrator changes, all but the changer’s own', async () => {
    const admin = await t.signedIn('ada');
    const daveId = await t.createStaff('dave', 'viewer', undefined, 'Dave');
    const dave = await t.signedIn('dave');
    const adaElsewhere = await t.signedIn('ada');
    expect((await dave.get('/certifications')).status).toBe(200);
    // A change without a new password leaves the sessions alone.
    await admin.post(`/admin/staff/${daveId}`, { displayName: 'Dave D', role: 'viewer' });
    expect((await dave.get('/certifications')).status).toBe(200);
    const changed = await admin.post(`/admin/staff/${daveId}`, {
      displayName: 'Dave D',
      role: 'viewer',
      password: 'a brand new long password',
    });
    expect(changed.status).toBe(303);
    expect((await dave.get('/certifications')).status).toBe(303);
    await expect(t.signedIn('dave', 'a brand new long password')).resolves.toBeTruthy();
    // Ada changes her own password: her other session ends, the one she changed it from stays.
    await admin.post(`/admin/staff/${adaId}`, { displayName: 'Ada', role: 'admin', password: 'ada has a new long password' });
    expect((await admin.get('/certifications')).status).toBe(200);
    expect((await adaElsewhere.get('/certifications')).status).toBe(303);
    await admin.post(`/admin/staff/${adaId}`, { displayName: 'Ada', role: 'admin', password: TEST_PASSWORD });
  });

  it('keeps at least one administrator: nobody can remove their own admin access', async () => {
    const admin = await t.signedIn('ada');
    const res = await admin.post(`/admin/staff/${adaId}`, { displayName: 'Ada', role: 'viewer' });
    expect(res.status).toBe(400);
    expect(mainText(res.text)).toContain('You cannot remove your own administrator access');
    expect((await t.db.query('select role from staff where id = $1', [adaId])).rows[0].role).toBe('admin');
  });

  it('keeps an optional email address for the exceptions notice, checked when given', async () => {
    const admin = await t.signedIn('ada');
    const bad = await admin.post('/admin/staff', {
      username: 'erin',
      displayName: 'Erin',
      role: 'admin',
      email: 'not an address',
      password: 'a long enough password',
    });
    expect(bad.status).toBe(400);
    expect(mainText(bad.text)).toContain('Enter an email address like name@example.org, or leave it empty');
    const good = await admin.post('/admin/staff', {
      username: 'erin',
      displayName: 'Erin',
      role: 'admin',
      email: 'erin@example.org',
      password: 'a long enough password',
    });
    expect(good.status).toBe(303);
    const erinId = (await t.db.query(`select id, email from staff where username = 'erin'`)).rows[0];
    expect(erinId.email).toBe('erin@example.org');
    await admin.post(`/admin/staff/${erinId.id}`, { displayName: 'Erin', role: 'admin', email: '' });
    expect((await t.db.query('select email from staff where id = $1', [erinId.id])).rows[0].email).toBeNull();
  });
});
