import { mainText, TestApp, TestClient } from '../support/app';
import { jobsWithReason, pageLink, startWithStaff } from '../support/pages';

const syncJobs = async (t: TestApp, reason: string) => (await jobsWithReason(t, 'membership-sync', reason)).length;

describe('audiences pages', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff());
    await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email)
       select 'A' || lpad(n::text, 3, '0'), 'a' || n, 'Ann', 'Member' || lpad(n::text, 3, '0'), 'a' || n || '@example.org'
         from generate_series(1, 60) n`,
    );
  });
  afterAll(() => t.close());

  const audience = async (name: string) => (await t.db.query(`select id, name, description from audience where name = $1`, [name])).rows[0];
  const memberCount = async (id: number) =>
    (await t.db.query(`select count(*)::int as n from audience_member where audience_id = $1`, [id])).rows[0].n as number;

  it('creates an audience, with errors shown and answers kept', async () => {
    expect((await admin.get('/audiences/new')).status).toBe(200);
    const empty = await admin.post('/audiences', { name: '  ', description: 'Kept text' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('<title>Error: Add an audience – Audiences – Certex</title>');
    expect(empty.text).toContain('href="#name">Enter a name</a>');
    expect(empty.text).toContain('>Kept text</textarea>');
    const res = await admin.post('/audiences', { name: 'Warehouse staff', description: 'Everyone in the warehouse' });
    expect(res.status).toBe(303);
    const created = await audience('Warehouse staff');
    expect(created.description).toBe('Everyone in the warehouse');
    expect(res.headers.location).toBe(`/audiences/${created.id}`);
    expect(mainText((await admin.get(res.headers.location)).text)).toContain('Audience “Warehouse staff” added');
    // A description of several lines comes back on the edit form exactly as saved.
    await t.db.query(`update audience set description = $2 where id = $1`, [created.id, 'Day shift\nNight shift']);
    expect((await admin.get(`/audiences/${created.id}/edit`)).text).toContain('>Day shift\nNight shift</textarea>');
    await t.db.query(`update audience set description = $2 where id = $1`, [created.id, 'Everyone in the warehouse']);
  });

  it('refuses a name another audience has, whatever its case, and edits', async () => {
    await admin.post('/audiences', { name: 'Drivers', description: '' });
    const clash = await admin.post('/audiences', { name: 'warehouse STAFF', description: '' });
    expect(clash.status).toBe(400);
    expect(clash.text).toContain('There is already an audience with this name');
    const { id } = await audience('Drivers');
    expect((await admin.get(`/audiences/${id}/edit`)).text).toContain('value="Drivers"');
    const renamed = await admin.post(`/audiences/${id}`, { name: 'Delivery drivers', description: 'Vans and lorries' });
    expect(renamed.status).toBe(303);
    expect(await audience('Delivery drivers')).toMatchObject({ id, description: 'Vans and lorries' });
    const clashEdit = await admin.post(`/audiences/${id}`, { name: 'Warehouse staff', description: '' });
    expect(clashEdit.status).toBe(400);
    expect(clashEdit.text).toContain('value="Warehouse staff"');
  });

  it('adds a member by ID number, with a clear error for an unknown learner or a member', async () => {
    const { id } = await audience('Warehouse staff');
    const before = await syncJobs(t, 'audience member added');
    const res = await admin.post(`/audiences/${id}/members`, { idNumber: 'A001' });
    expect(res.status).toBe(303);
    expect(mainText((await admin.get(`/audiences/${id}`)).text)).toContain('Ann Member001 added to the audience');
    expect(await memberCount(id)).toBe(1);
    expect(await syncJobs(t, 'audience member added')).toBe(before + 1);

    const unknown = await admin.post(`/audiences/${id}/members`, { idNumber: 'NOPE' });
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('href="#idNumber">There is no learner with ID number NOPE</a>');
    expect(unknown.text).toContain('value="NOPE"');
    const again = await admin.post(`/audiences/${id}/members`, { idNumber: 'A001' });
    expect(again.status).toBe(400);
    expect(again.text).toContain('Ann Member001 (A001) is already a member of this audience');
    const empty = await admin.post(`/audiences/${id}/members`, { idNumber: '' });
    expect(empty.text).toContain('Enter the ID number of the learner to add');
    expect(await memberCount(id)).toBe(1);
  });

  it('lists members 50 a page, searchable, and the list shows member counts', async () => {
    const { id } = await audience('Warehouse staff');
    await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner on conflict do nothing`, [id]);
    const first = await viewer.get(`/audiences/${id}`);
    const names = (html: string) => [...html.matchAll(/href="\/learners\/\d+">(Ann Member\d+)<\/a>/g)].map((m) => m[1]);
    expect(names(first.text)).toHaveLength(50);
    expect(names(first.text)[0]).toBe('Ann Member001');
    const second = await viewer.get(pageLink(first.text, 'next'));
    expect(names(second.text)).toEqual(Array.from({ length: 10 }, (_, i) => `Ann Member${String(51 + i).padStart(3, '0')}`));
    const search = mainText((await viewer.get(`/audiences/${id}?q=member05`)).text);
    expect(search).toContain('Ann Member050');
    expect(search).toContain('Ann Member059');
    expect(search).not.toContain('Ann Member001');
    // A viewer sees no buttons that change anything.
    expect(first.text).not.toContain('/remove');
    expect(mainText(first.text)).not.toContain('Add a member');

    const list = mainText((await viewer.get('/audiences')).text);
    expect(list).toMatch(/Delivery drivers Vans and lorries 0 members/);
    expect(list).toMatch(/Warehouse staff Everyone in the warehouse 60 members/);
    expect(mainText((await viewer.get('/audiences?q=deliv')).text)).not.toContain('Warehouse staff');
  });

  it('removes a member with a button named after the learner', async () => {
    const { id } = await audience('Warehouse staff');
    const page = await admin.get(`/audiences/${id}?q=A002`);
    const learnerId = (await t.db.query(`select id from learner where id_number = 'A002'`)).rows[0].id;
    expect(page.text).toContain(`action="/audiences/${id}/members/${learnerId}/remove"`);
    expect(page.text).toContain('Remove<span class="app-visually-hidden"> Ann Member002</span></button>');
    const before = await syncJobs(t, 'audience member removed');
    const res = await admin.post(`/audiences/${id}/members/${learnerId}/remove`);
    expect(res.status).toBe(303);
    expect(mainText((await admin.get(res.headers.location)).text)).toContain('Ann Member002 removed from the audience');
    expect(await memberCount(id)).toBe(59);
    expect(await syncJobs(t, 'audience member removed')).toBe(before + 1);
  });

  it('refuses every change to a viewer and changes nothing', async () => {
    const { id } = await audience('Warehouse staff');
    const learnerId = (await t.db.query(`select id from learner where id_number = 'A003'`)).rows[0].id;
    expect((await viewer.get('/audiences/new')).status).toBe(403);
    expect((await viewer.get(`/audiences/${id}/edit`)).status).toBe(403);
    expect((await viewer.post('/audiences', { name: 'Viewer made', description: '' })).status).toBe(403);
    expect((await viewer.post(`/audiences/${id}`, { name: 'Renamed', description: '' })).status).toBe(403);
    expect((await viewer.post(`/audiences/${id}/members`, { idNumber: 'A002' })).status).toBe(403);
    expect((await viewer.post(`/audiences/${id}/members/${learnerId}/remove`)).status).toBe(403);
    expect(await audience('Viewer made')).toBeUndefined();
    expect(await audience('Warehouse staff')).toBeDefined();
    expect(await memberCount(id)).toBe(59);
  });
});
