import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csrfFrom, mainText, TestApp, TestClient } from '../support/app';
import { startWithStaff } from '../support/pages';
import { changedTables, databaseSnapshot } from '../support/routes';

/**
 * Oversized requests and CSV files that are not what the upload expects: each is refused with a
 * page that says what is wrong and how to fix it, and the database is exactly as it was
 * (databaseSnapshot: every table but the session store and the sign-in throttle).
 */
const MB = 1024 * 1024;
const UPLOADS = {
  learners: { path: '/learners/upload', header: 'id_number,username,first_name,last_name,email', row: 'N1,n.one,Nia,New,n1@example.org' },
  members: { path: '', header: 'id_number', row: 'U1' },
  completions: { path: '/courses/completions/upload', header: 'id_number,course,completed_on', row: 'U1,FIRE-101,2024-01-01' },
};
const SAVE_AS_UTF8 = 'Save it again as CSV UTF-8: in Excel, choose File › Save As and the type “CSV UTF-8 (Comma delimited) (*.csv)”';
/** A 1×1 PNG picture. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

describe('oversized requests and CSV files in the wrong shape', () => {
  let t: TestApp;
  let admin: TestClient;
  let dir: string;

  beforeAll(async () => {
    ({ t, admin } = await startWithStaff({ PROCESS_ROLE: 'web' }));
    await t.db.query(
      `insert into learner (id_number, username, first_name, last_name, email) values ('U1', 'u.one', 'Una', 'One', 'u1@example.org')`,
    );
    await t.db.query(`insert into course (short_name, full_name) values ('FIRE-101', 'Fire safety')`);
    const audience = (await t.db.query(`insert into audience (name) values ('Night shift') returning id`)).rows[0].id;
    UPLOADS.members.path = `/audiences/${audience}/upload`;
    dir = await mkdtemp(join(tmpdir(), 'certex-oversized-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await t?.close();
  });

  async function token(path: string) {
    const page = await admin.get(path);
    const found = csrfFrom(page.text);
    if (!found) throw new Error(`no form on ${path} (${page.status})`);
    return found;
  }

  async function upload(path: string, content: Buffer) {
    return admin.agent
      .post(`${path}?_csrf=${encodeURIComponent(await token(path))}`)
      .attach('file', content, { filename: 'file.csv', contentType: 'text/csv' });
  }

  /** Sends the request and checks that it was refused with `status` and that no table changed. */
  async function refusedUnchanged(send: () => Promise<any>, status: number) {
    const before = await databaseSnapshot(t.db);
    const res = await send();
    expect(res.status).toBe(status);
    expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
    return mainText(res.text);
  }

  /** Writes a file of `lines()` to the temp dir without holding it in memory. */
  async function writeFile(name: string, lines: Iterable<string>): Promise<string> {
    const path = join(dir, name);
    const out = createWriteStream(path);
    let chunk = '';
    for (const line of lines) {
      chunk += line + '\n';
      if (chunk.length < MB) continue;
      const more = out.write(chunk);
      chunk = '';
      if (!more) await once(out, 'drain');
    }
    await new Promise<void>((done, fail) => out.end(chunk, () => done()).once('error', fail));
    return path;
  }

  it('refuses a form far over the 200 KB form limit with the “too large” page, changing nothing', async () => {
    const path = '/learners';
    await token('/learners/new');
    const text = await refusedUnchanged(
      () =>
        admin.post(path, {
          idNumber: 'BIG1',
          username: 'big.one',
          firstName: 'x'.repeat(2 * MB),
          lastName: 'Big',
          email: 'big@example.org',
        }),
      413,
    );
    expect(text).toContain('That was too large');
    expect(text).toContain('a form at most 200 KB');
    expect(text).toContain('Nothing was changed');
  });

  it('refuses an upload over the 110 MB limit with the “too large” page, naming the limit, changing nothing', async () => {
    const row = 'U1,FIRE-101,2024-01-01';
    const rows = Math.ceil((111 * MB) / (row.length + 1));
    const path = await writeFile(
      'too-large.csv',
      (function* () {
        yield UPLOADS.completions.header;
        for (let i = 0; i < rows; i++) yield row;
      })(),
    );
    expect((await stat(path)).size).toBeGreaterThan(110 * MB);
    const text = await refusedUnchanged(
      async () =>
        admin.agent
          .post(`${UPLOADS.completions.path}?_csrf=${encodeURIComponent(await token(UPLOADS.completions.path))}`)
          .attach('file', path),
      413,
    );
    expect(text).toContain('That was too large');
    expect(text).toContain('a CSV file can be at most 110 MB');
    expect(text).toContain('Split a large file into smaller files');
  }, 60_000);

  // Every upload, every kind of wrong file: what is wrong, how to fix it, nothing changed.
  const wrongFiles: Array<[what: string, content: (u: (typeof UPLOADS)['learners']) => Buffer, expected: string[]]> = [
    [
      'UTF-16 with a byte order mark (Excel’s “Unicode text”)',
      (u) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${u.header}\n${u.row}\n`, 'utf16le')]),
      ['must be a CSV file saved as UTF-8 text: this one is saved as UTF-16', SAVE_AS_UTF8],
    ],
    [
      'UTF-16 big-endian with a byte order mark',
      (u) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(`${u.header}\n${u.row}\n`, 'utf16le').swap16()]),
      ['saved as UTF-16', SAVE_AS_UTF8],
    ],
    [
      'UTF-16 without a byte order mark',
      (u) => Buffer.from(`${u.header}\n${u.row}\n`, 'utf16le'),
      ['this one holds NUL characters, as UTF-16 and binary files do', SAVE_AS_UTF8],
    ],
    [
      'Latin-1 bytes that are not UTF-8, on line 3',
      (u) => Buffer.from(`${u.header}\n${u.row}\n\xe9${u.row.slice(1)}\n`, 'latin1'),
      ['line 3 has characters in another encoding (such as Windows-1252 or Latin-1)', SAVE_AS_UTF8],
    ],
    ['a PNG picture', () => PNG, ['this one is a PNG picture, not a CSV file', SAVE_AS_UTF8]],
    [
      'a zip file (an .xlsx workbook is one)',
      () => Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.from([0x14, 0, 0, 0, 8, 0]), Buffer.from('[Content_Types].xml')]),
      ['this one is an Excel workbook (.xlsx) or another zip file, not a CSV file', SAVE_AS_UTF8],
    ],
    ['an empty file', () => Buffer.alloc(0), ['The selected file is empty. Choose the CSV file with the header row and the data rows.']],
    ['only blank lines and empty cells', () => Buffer.from('\n\r\n , \n,,\n'), ['The selected file is empty']],
    [
      'only a header row',
      (u) => Buffer.from(`${u.header}\n`),
      ['The selected file has a header row but no data rows: add a row under the header'],
    ],
    [
      'a header without a required column',
      (u) => Buffer.from(`${u.header.split(',').slice(1).concat('name').join(',')}\n${u.row.split(',').slice(1).concat('x').join(',')}\n`),
      ['The file has', 'Line 1, column id_number: The header row must have a column named id_number', 'Nothing was changed'],
    ],
  ];
  describe.each(Object.keys(UPLOADS) as Array<keyof typeof UPLOADS>)('%s upload', (kind) => {
    it.each(wrongFiles)('refuses %s, saying what is wrong and how to fix it, and changes nothing', async (_what, content, expected) => {
      const u = UPLOADS[kind];
      const text = await refusedUnchanged(() => upload(u.path, content(u)), 400);
      for (const words of expected) expect(text).toContain(words);
    });
  });

  // A quote never closed, early in a 20 MB file: every byte after it is inside one quoted value.
  // The file is read once, a piece at a time, so it is refused at once, naming the quote's line,
  // and other requests are answered in the meantime. (That the reading itself gives way to other
  // work a piece at a time is shown without a clock in csv-upload.spec.ts.)
  it.each(Object.keys(UPLOADS) as Array<keyof typeof UPLOADS>)(
    'refuses a 20 MB %s file with a stray quote within seconds, naming its line, while /health keeps answering',
    async (kind) => {
      const u = UPLOADS[kind];
      const [first, ...rest] = u.row.split(',');
      const path = await writeFile(
        `stray-quote-${kind}.csv`,
        (function* () {
          yield u.header;
          yield u.row;
          yield [`"${first}`, ...rest].join(',');
          for (let size = 0; size < 20 * MB; size += u.row.length + 1) yield u.row;
        })(),
      );
      expect((await stat(path)).size).toBeGreaterThan(20 * MB);
      const csrf = await token(u.path);
      const health = t.client();
      const waits: number[] = [];
      let sending = true;
      const poller = (async () => {
        while (sending) {
          const asked = Date.now();
          expect((await health.agent.get(health.path('/health'))).status).toBe(200);
          waits.push(Date.now() - asked);
          await sleep(20); // another user's request now and then, not a flood competing with the upload
        }
      })();
      const before = await databaseSnapshot(t.db);
      const started = Date.now();
      let res: { status: number; text: string };
      try {
        res = await admin.agent.post(`${u.path}?_csrf=${encodeURIComponent(csrf)}`).attach('file', path);
      } finally {
        sending = false;
        await poller;
      }
      const seconds = (Date.now() - started) / 1000;
      expect(res.status).toBe(400);
      expect(changedTables(before, await databaseSnapshot(t.db))).toEqual([]);
      const text = mainText(res.text);
      const slowest = waits.reduce((a, b) => Math.max(a, b), 0);
      console.log(
        `20 MB ${kind} file with a stray quote: refused in ${seconds.toFixed(2)} s; /health answered ${waits.length} times, slowest ${slowest} ms`,
      );
      expect(text).toContain('could not be read as CSV: a quoted value is not closed (line 3)');
      expect(text).toContain('Check the quotes on that line');
      // Read alone, the file takes 0.1–0.3 s and the whole request about 1 s; this bound leaves room
      // for the suite's other projects on two cores. A scan that is not linear took 251 s here.
      expect(seconds).toBeLessThan(5);
      expect(waits.length).toBeGreaterThanOrEqual(5);
    },
    30_000,
  );

  it('accepts the same upload once it is right (the refusals above were about the file)', async () => {
    const u = UPLOADS.completions;
    const res = await upload(u.path, Buffer.from(`\ufeff${u.header}\r\n${u.row}\r\n`));
    expect(res.status).toBe(303);
    expect((await t.db.query(`select count(*)::int as n from course_completion`)).rows[0].n).toBe(1);
  });

  /**
   * A 100 MB completions file (3.7 million rows, under the 110 MB limit) with one bad row near the
   * end: checked in full and refused naming that line, in bounded memory. The rows are read a
   * piece at a time and staged in a temporary table, so memory grows by a few pieces of the file
   * (stored on disk as it arrives) and a little more, not by millions of row objects.
   */
  it('refuses a 100 MB completions file with one bad row near the end, naming the line, in bounded memory and time', async () => {
    const row = (n: number) => `E${String(n).padStart(7, '0')},FIRE-${n % 50},2024-0${1 + (n % 9)}-1${n % 10}`;
    let count = 0;
    let size = 0;
    while (size < 100 * MB) size += row(count++).length + 1;
    const badAt = count - 7; // the data row's index; its line is index + 2 (after the header)
    const path = await writeFile(
      'big.csv',
      (function* () {
        yield UPLOADS.completions.header;
        for (let n = 0; n < count; n++) yield n === badAt ? `E${n},FIRE-1,2024-02-30` : row(n);
      })(),
    );
    const bytes = (await stat(path)).size;
    expect(bytes).toBeGreaterThan(100 * MB);
    expect(bytes).toBeLessThan(110 * MB);

    const csrf = await token(UPLOADS.completions.path);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    const started = Date.now();
    let text: string;
    try {
      text = await refusedUnchanged(
        () => admin.agent.post(`${UPLOADS.completions.path}?_csrf=${encodeURIComponent(csrf)}`).attach('file', path),
        400,
      );
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const growth = Math.round((peak - baseline) / MB);
    console.log(
      `100 MB upload: ${count.toLocaleString('en-GB')} rows, ${(bytes / MB).toFixed(1)} MB, refused in ${seconds.toFixed(1)} s; RSS ${Math.round(baseline / MB)} MB before, peak ${Math.round(peak / MB)} MB (+${growth} MB)`,
    );
    expect(text).toContain('The file has 1 error. Nothing was changed');
    expect(text).toContain(`Line ${badAt + 2}, column completed_on: Completion date must be a real date written YYYY-MM-DD`);
    // The file itself is 100 MB, stored on disk while it is read (and held by this process, which sends
    // it): a generous bound, as collection is lazy when the suite runs in parallel (400–800 MB
    // seen), where reading it into row objects took about 2.7 GB.
    expect(growth).toBeLessThan(1536);
    expect(seconds).toBeLessThan(100);
  }, 150_000);
});
