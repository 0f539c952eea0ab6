import { mainText, TestApp, TestClient } from '../support/app';
import { pageLink, startWithStaff } from '../support/pages';

describe('courses pages', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff());
  });
  afterAll(() => t.close());

  const course = async (shortName: string) =>
    (await t.db.query(`select id, short_name, full_name from course where short_name = $1`, [shortName])).rows[0];

  it('creates a course, with errors shown and answers kept', async () => {
    expect((await admin.get('/courses/new')).status).toBe(200);
    const bad = await admin.post('/courses', { shortName: 'has space', fullName: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<title>Error: Add a course – Courses – Certex</title>');
    expect(bad.text).toContain('href="#shortName">Short name can only contain letters, digits and . _ / -</a>');
    expect(bad.text).toContain('href="#fullName">Enter a full name</a>');
    expect(bad.text).toContain('value="has space"');
    const res = await admin.post('/courses', { shortName: 'FIRE-101', fullName: 'Fire safety' });
    expect(res.status).toBe(303);
    expect(await course('FIRE-101')).toMatchObject({ full_name: 'Fire safety' });
    expect(mainText((await admin.get(res.headers.location)).text)).toContain('Course FIRE-101 added');
  });

  it('refuses a short name another course has, whatever its case, and edits', async () => {
    const clash = await admin.post('/courses', { shortName: 'fire-101', fullName: 'Another' });
    expect(clash.status).toBe(400);
    expect(clash.text).toContain('There is already a course with this short name');
    await admin.post('/courses', { shortName: 'AID-1', fullName: 'First aid' });
    const { id } = await course('AID-1');
    expect((await admin.get(`/courses/${id}/edit`)).text).toContain('value="First aid"');
    expect((await admin.post(`/courses/${id}`, { shortName: 'AID-2', fullName: 'First aid at work' })).status).toBe(303);
    expect(await course('AID-2')).toMatchObject({ id, full_name: 'First aid at work' });
    const clashEdit = await admin.post(`/courses/${id}`, { shortName: 'FIRE-101', fullName: 'First aid at work' });
    expect(clashEdit.status).toBe(400);
    expect(await course('AID-2')).toBeDefined();
  });

  it('lists courses 50 a page and searches them', async () => {
    await t.db.query(
      `insert into course (short_name, full_name) select 'Z-' || lpad(n::text, 3, '0'), 'Zone course ' || n from generate_series(1, 70) n`,
    );
    const codes = (html: string) => [...html.matchAll(/<th scope="row" class="app-table__cell">([A-Z0-9-]+)<\/th>/g)].map((m) => m[1]);
    const first = await viewer.get('/courses');
    expect(first.status).toBe(200);
    expect(codes(first.text)).toHaveLength(50);
    expect(codes(first.text).slice(0, 3)).toEqual(['AID-2', 'FIRE-101', 'Z-001']);
    const second = await viewer.get(pageLink(first.text, 'next'));
    expect(codes(second.text)).toHaveLength(22);
    expect(codes(second.text)[21]).toBe('Z-070');
    const search = mainText((await viewer.get('/courses?q=first+aid')).text);
    expect(search).toContain('AID-2');
    expect(search).not.toContain('FIRE-101');
    expect(mainText((await viewer.get('/courses?q=nothing-like-this')).text)).toContain('No course matches');
  });

  it('refuses every change to a viewer and changes nothing', async () => {
    const { id } = await course('FIRE-101');
    expect((await viewer.get('/courses/new')).status).toBe(403);
    expect((await viewer.get(`/courses/${id}/edit`)).status).toBe(403);
    expect((await viewer.post('/courses', { shortName: 'V-1', fullName: 'Viewer course' })).status).toBe(403);
    expect((await viewer.post(`/courses/${id}`, { shortName: 'FIRE-101', fullName: 'Changed' })).status).toBe(403);
    expect(await course('V-1')).toBeUndefined();
    expect((await course('FIRE-101')).full_name).toBe('Fire safety');
  });
});
