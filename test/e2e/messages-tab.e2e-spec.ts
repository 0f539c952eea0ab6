import { mainText, startTestApp, TestApp, TestClient } from '../support/app';

describe('the Messages tab', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;
  let id: number;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin', undefined, 'Ada Admin');
    await t.createStaff('vic', 'viewer', undefined, 'Vic Viewer');
    admin = await t.signedIn('ada');
    viewer = await t.signedIn('vic');
    const { rows } = await t.db.query(
      `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
       values ('Fire Safety', 'FIRE', 1, 'year', 1, 'month') returning id`,
    );
    id = rows[0].id;
  });
  afterAll(() => t.close());

  const template = async (kind: string) =>
    (
      await t.db.query('select enabled, subject, body, offset_days from message_template where certification_id = $1 and kind = $2', [
        id,
        kind,
      ])
    ).rows[0];
  const rowsOf = (html: string) => [...html.matchAll(/<tr class="app-table__row">([\s\S]*?)<\/tr>/g)].map((m) => mainText(m[1]));

  it('lists the eight messages with their defaults, on or off, subject and offset, and the placeholders', async () => {
    const page = await admin.get(`/certifications/${id}/messages`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Messages – Fire Safety – Certex</title>');
    expect(page.text).toMatch(/<a class="app-subnav__link" href="\/certifications\/\d+\/messages" aria-current="page">Messages<\/a>/);
    expect((page.text.match(/<h1[ >]/g) ?? []).length).toBe(1);
    const rows = rowsOf(page.text);
    expect(rows.map((r) => r.split(' On ')[0])).toEqual([
      'Enrolment',
      'Unenrolment',
      'Due soon',
      'Overdue',
      'Certified',
      'Recertification window open',
      'Window closing',
      'Failed to recertify',
    ]);
    expect(rows[2]).toContain('On {certification_name} is due on {due_date}');
    expect(rows[2]).toContain('14 days before');
    expect(rows[6]).toContain('7 days before');
    expect(rows[0]).toContain('Not used');
    expect(rows[0]).toContain('Edit the Enrolment message');
    for (const name of ['learner_first_name', 'learner_full_name', 'certification_name', 'due_date', 'expiry_date', 'link']) {
      expect(mainText(page.text)).toContain(`{${name}}`);
    }
    expect(page.text).toContain(`href="/certifications/${id}/messages/due_soon"`);
  });

  it('shows the edit page with the saved values, the placeholders and an example', async () => {
    const page = await admin.get(`/certifications/${id}/messages/window_closing`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>Window closing message – Messages – Fire Safety – Certex</title>');
    expect(page.text).toMatch(/id="enabled" value="yes" checked/);
    expect(page.text).toContain('value="{certification_name} expires on {expiry_date}"');
    expect(page.text).toMatch(/<label class="app-label" for="offsetDays">Days before expiry<\/label>/);
    expect(page.text).toContain('id="offsetDays" name="offsetDays" type="text" autocomplete="off" value="7"');
    expect(mainText(page.text)).toMatch(/Subject Fire Safety expires on \d{1,2} [A-Z][a-z]+ \d{4}/);
    const enrolment = await admin.get(`/certifications/${id}/messages/enrolment`);
    expect(enrolment.text).not.toContain('offsetDays');
    expect((await admin.get(`/certifications/${id}/messages/nonsense`)).status).toBe(404);
    expect((await admin.get(`/certifications/999999/messages`)).status).toBe(404);
  });

  it('saves an edit with 303 and a success banner', async () => {
    const res = await admin.post(`/certifications/${id}/messages/due_soon`, {
      enabled: 'yes',
      subject: '  Reminder: {certification_name}  ',
      body: 'Hello {learner_first_name},\r\nplease finish by {due_date}.',
      offsetDays: '30',
    });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/certifications/${id}/messages`);
    const page = await admin.get(res.headers.location);
    expect(mainText(page.text)).toContain('Success Due soon message saved');
    expect(rowsOf(page.text)[2]).toContain('Due soon On Reminder: {certification_name}');
    expect(rowsOf(page.text)[2]).toContain('30 days before');
    expect(await template('due_soon')).toEqual({
      enabled: true,
      subject: 'Reminder: {certification_name}',
      body: 'Hello {learner_first_name},\nplease finish by {due_date}.',
      offset_days: 30,
    });

    // Switched off: subject and body may be empty.
    const off = await admin.post(`/certifications/${id}/messages/certified`, { subject: '', body: '' });
    expect(off.status).toBe(303);
    expect(mainText((await admin.get(off.headers.location)).text)).toContain('Certified message saved (switched off)');
    expect(await template('certified')).toMatchObject({ enabled: false, subject: '', body: '' });
    expect(rowsOf((await admin.get(`/certifications/${id}/messages`)).text)[4]).toContain('Certified Off');
  });

  it('shows every problem in an error summary and inline, keeping the answers, and saves nothing', async () => {
    const before = await template('window_closing');
    const res = await admin.post(`/certifications/${id}/messages/window_closing`, {
      enabled: 'yes',
      subject: '',
      body: '',
      offsetDays: '0',
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<title>Error: Window closing message – Messages – Fire Safety – Certex</title>');
    const text = mainText(res.text);
    expect(text).toContain('There is a problem');
    expect(text).toContain('Enter a subject, or switch the message off');
    expect(text).toContain('Enter the body of the message, or switch the message off');
    expect(text).toContain('Days must be a whole number from 1 to 365');
    for (const field of ['subject', 'body', 'offsetDays']) expect(res.text).toContain(`href="#${field}"`);
    expect(res.text).toMatch(/id="offsetDays"[^>]*value="0"[^>]*aria-invalid="true"/);

    const tooLong = await admin.post(`/certifications/${id}/messages/window_closing`, {
      enabled: 'yes',
      subject: 'x'.repeat(201),
      body: 'y'.repeat(5001),
      offsetDays: '366',
    });
    expect(tooLong.status).toBe(400);
    expect(mainText(tooLong.text)).toContain('Subject must be 200 characters or fewer');
    expect(mainText(tooLong.text)).toContain('Body must be 5,000 characters or fewer');
    expect(mainText(tooLong.text)).toContain('Days must be a whole number from 1 to 365');

    const unknown = await admin.post(`/certifications/${id}/messages/window_closing`, {
      enabled: 'yes',
      subject: 'Hi {learner_name}',
      body: 'See {link} and {Link}',
      offsetDays: '',
    });
    expect(mainText(unknown.text)).toContain('Subject has a placeholder that does not exist: {learner_name}');
    expect(mainText(unknown.text)).toContain('Body has a placeholder that does not exist: {Link}');
    expect(mainText(unknown.text)).toContain('Enter the number of days, from 1 to 365');
    expect(unknown.text).toContain('value="Hi {learner_name}"');
    expect(unknown.text).toContain('See {link} and {Link}</textarea>');
    expect(await template('window_closing')).toEqual(before);
  });

  it('shows viewers the list without edit links, and refuses them the edit page and the POST', async () => {
    const page = await viewer.get(`/certifications/${id}/messages`);
    expect(page.status).toBe(200);
    expect(rowsOf(page.text)).toHaveLength(8);
    expect(page.text).not.toContain(`/messages/enrolment"`);
    expect((await viewer.get(`/certifications/${id}/messages/enrolment`)).status).toBe(403);
    const before = await template('enrolment');
    const res = await viewer.post(`/certifications/${id}/messages/enrolment`, { subject: 'Hacked', body: 'x' });
    expect(res.status).toBe(403);
    expect(await template('enrolment')).toEqual(before);
  });
});
