import { csrfFrom, mainText, TestApp, TestClient } from '../support/app';
import { jobsWithReason, startWithStaff } from '../support/pages';

const HEADER = 'id_number,username,first_name,last_name,email,hire_date,suspended';

/** Uploads a file as the page's form would (multipart, CSRF token from the page). */
async function upload(client: TestClient, path: string, content: string | Buffer, filename = 'file.csv') {
  const page = await client.get(path);
  const token = csrfFrom(page.text);
  if (!token) throw new Error(`no form on ${path} (status ${page.status})`);
  return client.agent
    .post(`${client.path(path)}?_csrf=${encodeURIComponent(token)}`)
    .attach('file', Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'), { filename, contentType: 'text/csv' });
}

async function followFlash(client: TestClient, res: { status: number; headers: Record<string, string> }) {
  expect(res.status).toBe(303);
  return mainText((await client.get(res.headers.location)).text);
}

describe('CSV uploads', () => {
  let t: TestApp;
  let admin: TestClient;
  let viewer: TestClient;

  beforeAll(async () => {
    ({ t, admin, viewer } = await startWithStaff());
  });
  afterAll(() => t.close());

  const count = async (table: string) => (await t.db.query(`select count(*)::int as n from ${table}`)).rows[0].n as number;
  const learner = async (idNumber: string) =>
    (
      await t.db.query(
        `select id, username, first_name, last_name, email, to_char(hire_date, 'YYYY-MM-DD') as hire_date, suspended from learner where id_number = $1`,
        [idNumber],
      )
    ).rows[0];

  describe('learners', () => {
    it('shows the upload page with a labelled file input, the columns and an example header', async () => {
      const res = await admin.get('/learners/upload');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<label class="app-label" for="file">CSV file</label>');
      expect(res.text).toContain('enctype="multipart/form-data"');
      expect(res.text).toContain(HEADER);
      expect(mainText(res.text)).toContain('hire_date Optional');
    });

    it('changes nothing when one line among good ones is bad, and names the line and column', async () => {
      const lines = [HEADER];
      for (let i = 1; i <= 9; i++) lines.push(`B${i},b.user${i},Bea,Smith${i},b${i}@example.org,2024-01-0${i},no`);
      lines[6] = 'B6,b.user6,Bea,Smith6,not-an-email,2024-01-06,no'; // line 7 of the file
      const res = await upload(admin, '/learners/upload', lines.join('\n'));
      expect(res.status).toBe(400);
      expect(res.text).toContain('<title>Error: Upload learners – Learners – Certex</title>');
      const text = mainText(res.text);
      expect(text).toContain('The file has 1 error. Nothing was changed');
      expect(text).toContain('Line 7, column email: Enter an email address like name@example.org');
      expect(await count('learner')).toBe(0);
    });

    it('lists every error of a file, each with its line and column', async () => {
      const csv = [
        'username,id_number,first_name,last_name,email,suspended',
        'dup.user,C1,Cat,One,c1@example.org,maybe',
        'DUP.user,C2,Cat,Two,c2@example.org,',
        'ok.user,C1,,Three,c3@example.org,yes',
        'bad user,C4,Cat,Four,c4@example.org,no',
        'short,row',
      ].join('\r\n');
      const res = await upload(admin, '/learners/upload', csv);
      expect(res.status).toBe(400);
      const text = mainText(res.text);
      expect(text).toContain('Line 6: This row has 2 values; the header row has 6');
      // Row problems are listed once the shape of every row is right.
      const fixed = csv.replace('short,row', 'e.user,C5,Cat,Five,c5@example.org,no');
      const again = mainText((await upload(admin, '/learners/upload', fixed)).text);
      expect(again).toContain('The file has 5 errors');
      expect(again).toContain('Line 2, column suspended: Suspended must be yes or no');
      expect(again).toContain('Line 3, column username: Username DUP.user is also on line 2');
      expect(again).toContain('Line 4, column first_name: Enter a first name');
      expect(again).toContain('Line 4, column id_number: ID number C1 is also on line 2');
      expect(again).toContain('Line 5, column username: Username can only contain letters, digits and . _ @ -');
      expect(await count('learner')).toBe(0);
    });

    it('refuses a header without the required columns, a file that is not UTF-8 text, and no file', async () => {
      const header = mainText((await upload(admin, '/learners/upload', 'id_number,name\nX1,Someone')).text);
      expect(header).toContain('Line 1, column name: Unknown column');
      expect(header).toContain('Line 1, column username: The header row must have a column named username');
      const binary = await upload(
        admin,
        '/learners/upload',
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe]),
        'picture.png',
      );
      expect(binary.status).toBe(400);
      expect(mainText(binary.text)).toContain('The selected file must be a CSV file saved as UTF-8 text');
      const latin1 = await upload(admin, '/learners/upload', Buffer.from(`${HEADER}\nL1,l1,Jos\xe9,Smith,l@example.org,,\n`, 'latin1'));
      expect(mainText(latin1.text)).toContain('The selected file must be a CSV file saved as UTF-8 text');
      const quote = mainText((await upload(admin, '/learners/upload', `${HEADER}\n"L1,l1,A,B,l@example.org,,\n`)).text);
      expect(quote).toContain('could not be read as CSV: a quoted value is not closed');
      const page = await admin.get('/learners/upload');
      const none = await admin.agent.post(`/learners/upload?_csrf=${encodeURIComponent(csrfFrom(page.text)!)}`).field('note', '');
      expect(none.status).toBe(400);
      expect(mainText(none.text)).toContain('Select a CSV file');
      expect(await count('learner')).toBe(0);
    });

    it('adds and updates learners by ID number and says what changed', async () => {
      await t.db.query(
        `insert into learner (id_number, username, first_name, last_name, email, hire_date, suspended) values
           ('U1', 'u.one', 'Una', 'One', 'u1@example.org', '2020-01-01', false),
           ('U2', 'u.two', 'Uma', 'Two', 'u2@example.org', '2020-02-02', true),
           ('U3', 'u.three', 'Ugo', 'Three', 'u3@example.org', null, false)`,
      );
      const before = (await jobsWithReason(t, 'membership-sync', 'learners uploaded')).length;
      const csv = [
        '\ufeff' + HEADER, // a byte order mark, as Excel writes
        'U1,u.one,Una,One-Changed,u1@example.org,,', // updated: last name; empty hire date keeps it
        'U2,u.two,Uma,Two,u2@example.org,2020-02-02,yes', // unchanged
        'U3,U.Three,Ugo,Three,u3@example.org,2021-03-03,no', // updated: username case and hire date
        'N1,n.one,"Nia, Jr",New,n1@example.org,2024-05-05,yes', // added
        'N2,n.two,Ned,New,n2@example.org,,', // added
      ].join('\n');
      const res = await upload(admin, '/learners/upload', csv);
      expect(await followFlash(admin, res)).toContain('2 learners added, 2 updated, 1 unchanged');
      expect(await learner('U1')).toMatchObject({ last_name: 'One-Changed', hire_date: '2020-01-01', suspended: false });
      expect(await learner('U2')).toMatchObject({ suspended: true });
      expect(await learner('U3')).toMatchObject({ username: 'U.Three', hire_date: '2021-03-03' });
      expect(await learner('N1')).toMatchObject({ first_name: 'Nia, Jr', hire_date: '2024-05-05', suspended: true });
      expect(await learner('N2')).toMatchObject({ hire_date: null, suspended: false });
      expect((await jobsWithReason(t, 'membership-sync', 'learners uploaded')).length).toBe(before + 1);
    });

    it('refuses a username that belongs to another learner', async () => {
      const res = await upload(
        admin,
        '/learners/upload',
        `${HEADER}\nU1,u.one,Una,One,u1@example.org,,\nN9,N.TWO,Nat,Nine,n9@example.org,,\n`,
      );
      expect(res.status).toBe(400);
      expect(mainText(res.text)).toContain('Line 3, column username: Username N.TWO belongs to the learner with ID number N2');
      expect(await learner('N9')).toBeUndefined();
    });

    it('applies a file of 100,000 learners in one go', async () => {
      const lines = [HEADER];
      for (let i = 0; i < 100_000; i++) lines.push(`M${i},m.user${i},Max,Mass${i},m${i}@example.org,2023-01-01,no`);
      lines[2] = 'U1,u.one,Una,One-Again,u1@example.org,,'; // one update among them
      const res = await upload(admin, '/learners/upload', lines.join('\n'));
      expect(await followFlash(admin, res)).toContain('99,999 learners added, 1 updated, 0 unchanged');
      expect(await count('learner')).toBe(99_999 + 5);
    }, 120_000);

    it('lists the first 100 errors of a large bad file and counts the rest', async () => {
      const lines = [HEADER];
      for (let i = 0; i < 250; i++) lines.push(`X${i},x.user${i},Xan,Bad${i},not-an-email,,`);
      const res = await upload(admin, '/learners/upload', lines.join('\n'));
      const text = mainText(res.text);
      expect(text).toContain('The file has 250 errors');
      expect(text).toContain('Line 101, column email');
      expect(text).not.toContain('Line 102, column email');
      expect(text).toContain('150 more errors not shown');
    });
  });

  describe('audience members', () => {
    let audienceId: number;
    beforeAll(async () => {
      audienceId = (await t.db.query(`insert into audience (name) values ('Night shift') returning id`)).rows[0].id;
      await t.db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id_number = 'U1'`, [
        audienceId,
      ]);
    });

    it('changes nothing when an ID number is unknown or repeated, naming the lines', async () => {
      const res = await upload(admin, `/audiences/${audienceId}/upload`, 'id_number\nU2\nNOPE\nU3\nU2\n');
      expect(res.status).toBe(400);
      const text = mainText(res.text);
      expect(text).toContain('Line 5, column id_number: ID number U2 is also on line 2');
      const unknown = mainText((await upload(admin, `/audiences/${audienceId}/upload`, 'id_number\nU2\nNOPE\nU3\n')).text);
      expect(unknown).toContain('Line 3, column id_number: There is no learner with ID number NOPE');
      expect(await count('audience_member')).toBe(1);
    });

    it('adds members and says how many were already members', async () => {
      const before = (await jobsWithReason(t, 'membership-sync', 'audience members uploaded')).length;
      const res = await upload(admin, `/audiences/${audienceId}/upload`, 'id_number\nU1\nU2\nN1\n');
      // A checked file leads to its preview first; Save adds the members.
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(new RegExp(`^/audiences/${audienceId}/upload/[0-9a-f-]{36}$`));
      expect(await count('audience_member')).toBe(1);
      expect((await admin.get(res.headers.location)).status).toBe(200);
      const saved = await admin.post(res.headers.location);
      expect(await followFlash(admin, saved)).toContain('2 members added, 1 already was a member');
      const { rows } = await t.db.query(
        `select l.id_number from audience_member m join learner l on l.id = m.learner_id where m.audience_id = $1 order by 1`,
        [audienceId],
      );
      expect(rows.map((r) => r.id_number)).toEqual(['N1', 'U1', 'U2']);
      expect((await jobsWithReason(t, 'membership-sync', 'audience members uploaded')).length).toBe(before + 1);
    });
  });

  describe('course completions', () => {
    beforeAll(async () => {
      await t.db.query(`insert into course (short_name, full_name) values ('FIRE-101', 'Fire safety'), ('FIRST-AID', 'First aid')`);
    });

    it('changes nothing when a line is bad, naming each line and column', async () => {
      const csv =
        'id_number,course,completed_on\nU1,FIRE-101,2024-01-01\nU2,NO-SUCH,2024-01-01\nZZ,FIRE-101,2024-01-01\nU3,FIRE-101,2099-01-01\nU1,fire-101,2024-01-01\nU2,FIRST-AID,01/02/2024\n';
      const res = await upload(admin, '/courses/completions/upload', csv);
      expect(res.status).toBe(400);
      const text = mainText(res.text);
      expect(text).toContain('Line 5, column completed_on: Completion date must be today or in the past');
      expect(text).toContain('Line 6: The same completion is also on line 2');
      expect(text).toContain('Line 7, column completed_on: Completion date must be a real date written YYYY-MM-DD');
      const known = mainText(
        (
          await upload(
            admin,
            '/courses/completions/upload',
            'id_number,course,completed_on\nU1,FIRE-101,2024-01-01\nU2,NO-SUCH,2024-01-01\nZZ,FIRE-101,2024-01-01\n',
          )
        ).text,
      );
      expect(known).toContain('Line 3, column course: There is no course with short name NO-SUCH');
      expect(known).toContain('Line 4, column id_number: There is no learner with ID number ZZ');
      expect(await count('course_completion')).toBe(0);
    });

    it('records completions and queues a completion check for those learners', async () => {
      const res = await upload(
        admin,
        '/courses/completions/upload',
        'completed_on,id_number,course\n2024-01-01,U1,FIRE-101\n2024-02-01,U2,first-aid\n2024-03-01,U2,FIRE-101\n',
      );
      expect(await followFlash(admin, res)).toContain('3 course completions recorded, 0 already recorded');
      const { rows } = await t.db.query(
        `select l.id_number, c.short_name, cc.completed_at, cc.source, s.username as recorded_by
           from course_completion cc join learner l on l.id = cc.learner_id join course c on c.id = cc.course_id
           left join staff s on s.id = cc.recorded_by order by cc.completed_at`,
      );
      expect(
        rows.map((r) => [r.id_number, r.short_name, new Date(r.completed_at).toISOString().slice(0, 10), r.source, r.recorded_by]),
      ).toEqual([
        ['U1', 'FIRE-101', '2024-01-01', 'csv', 'ada'],
        ['U2', 'FIRST-AID', '2024-02-01', 'csv', 'ada'],
        ['U2', 'FIRE-101', '2024-03-01', 'csv', 'ada'],
      ]);
      const ids = (await t.db.query(`select id from learner where id_number in ('U1', 'U2') order by id`)).rows.map((r) => r.id);
      const jobs = await jobsWithReason(t, 'lifecycle', 'course completions uploaded');
      expect(jobs).toHaveLength(1);
      expect([...jobs[0].data.learnerIds].sort((a: number, b: number) => a - b)).toEqual(ids);

      const again = await upload(admin, '/courses/completions/upload', 'id_number,course,completed_on\nU1,FIRE-101,2024-01-01\n');
      expect(await followFlash(admin, again)).toContain('0 course completions recorded, 1 already recorded');
      expect(await jobsWithReason(t, 'lifecycle', 'course completions uploaded')).toHaveLength(1);
    });
  });

  it('refuses every upload to a viewer and changes nothing', async () => {
    const learners = await count('learner');
    const members = await count('audience_member');
    const completions = await count('course_completion');
    const audienceId = (await t.db.query(`select id from audience limit 1`)).rows[0].id;
    expect((await viewer.get('/learners/upload')).status).toBe(403);
    expect((await viewer.get(`/audiences/${audienceId}/upload`)).status).toBe(403);
    expect((await viewer.get('/courses/completions/upload')).status).toBe(403);
    // The viewer's own CSRF token, from a page they may see.
    const token = csrfFrom((await viewer.get('/learners')).text)!;
    const post = (path: string, content: string) =>
      viewer.agent
        .post(`${path}?_csrf=${encodeURIComponent(token)}`)
        .attach('file', Buffer.from(content), { filename: 'f.csv', contentType: 'text/csv' });
    expect((await post('/learners/upload', `${HEADER}\nV1,v.one,Vi,One,v@example.org,,`)).status).toBe(403);
    expect((await post(`/audiences/${audienceId}/upload`, 'id_number\nM5\n')).status).toBe(403);
    expect((await post('/courses/completions/upload', 'id_number,course,completed_on\nM5,FIRE-101,2024-01-01\n')).status).toBe(403);
    expect(await count('learner')).toBe(learners);
    expect(await count('audience_member')).toBe(members);
    expect(await count('course_completion')).toBe(completions);
  });
});
