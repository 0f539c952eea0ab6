import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csrfFrom, mainText, TEST_PASSWORD, TestApp, TestClient } from '../support/app';
import { signInOverHttp } from '../support/http-sign-in';
import { startWithStaff } from '../support/pages';

/**
 * An upload is checked before its body is read: a viewer's upload or one without the CSRF token is
 * refused without the file being read into memory, and an accepted file is stored on disk, in the
 * system's temporary directory, only until it has been imported.
 */
const MB = 1024 * 1024;
const BOUNDARY = 'certex-upload-checks';

interface Answer {
  status: number;
  text: string;
  /** Whether the whole file had been sent when the answer came. */
  sentAll: boolean;
}

/**
 * Posts a file as multipart over a real connection, as a browser would, and answers as soon as the
 * response is complete: a server that refuses without reading the body may close the connection
 * while the file is still being sent (the client's write error is then expected).
 */
function postFile(port: number, path: string, cookie: string, file: string, size: number): Promise<Answer> {
  const head = Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return new Promise((resolve) => {
    let sentAll = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          cookie,
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          'content-length': head.length + size + tail.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), sentAll }));
      },
    );
    req.on('error', () => undefined);
    req.write(head);
    const body = createReadStream(file);
    body.on('end', () => {
      sentAll = true;
      req.end(tail);
    });
    body.on('error', () => undefined);
    body.pipe(req, { end: false });
  });
}

describe('uploads are checked before they are read, and read to disk', () => {
  let t: TestApp;
  let admin: TestClient;
  let dir: string;
  let big: string;

  beforeAll(async () => {
    ({ t, admin } = await startWithStaff());
    dir = await mkdtemp(join(tmpdir(), 'certex-upload-checks-'));
    big = join(dir, 'big.csv');
    const out = createWriteStream(big);
    const row = 'id_number,username,first_name,last_name,email\n'.padEnd(MB, 'x');
    for (let i = 0; i < 100; i++) if (!out.write(row)) await once(out, 'drain');
    await new Promise<void>((done) => out.end(() => done()));
    expect((await stat(big)).size).toBe(100 * MB);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await t?.close();
  });

  async function tokenOf(client: TestClient) {
    return csrfFrom((await client.get('/learners')).text)!;
  }

  /** Signs in over the listening port: the session cookie and a CSRF token of that session. */
  async function signedIn(port: number, username: string) {
    const base = `http://127.0.0.1:${port}`;
    const cookie = await signInOverHttp(base, username, TEST_PASSWORD);
    const page = await fetch(`${base}/learners`, { headers: { cookie } });
    return { cookie, token: csrfFrom(await page.text())! };
  }

  async function listening(): Promise<number> {
    const server = t.app.getHttpServer();
    if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return (server.address() as AddressInfo).port;
  }

  /** Posts the 100 MB file three times at once: each refused before it is sent, the process not grown by the files. */
  async function refusedInBoundedMemory(send: () => Promise<Answer>) {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    let answers: Answer[];
    try {
      answers = await Promise.all([send(), send(), send()]);
    } finally {
      clearInterval(sampler);
    }
    const growth = (peak - baseline) / MB;
    console.log(`three 100 MB uploads refused: RSS grew by ${growth.toFixed(0)} MB`);
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(answer.sentAll).toBe(false);
    }
    expect(growth).toBeLessThan(50);
    return answers.map((answer) => mainText(answer.text));
  }

  it('refuses a viewer’s 100 MB upload for their role without reading the file', async () => {
    const port = await listening();
    const { cookie, token } = await signedIn(port, 'vic');
    const texts = await refusedInBoundedMemory(() =>
      postFile(port, `/learners/upload?_csrf=${encodeURIComponent(token)}`, cookie, big, 100 * MB),
    );
    for (const text of texts) expect(text).toContain('Only a site administrator can change anything');
    expect((await t.db.query(`select count(*)::int as n from learner`)).rows[0].n).toBe(0);
  }, 60_000);

  it('refuses an administrator’s 100 MB upload without the CSRF token in its address without reading the file', async () => {
    const port = await listening();
    const { cookie } = await signedIn(port, 'ada');
    const texts = await refusedInBoundedMemory(() => postFile(port, '/learners/upload', cookie, big, 100 * MB));
    for (const text of texts) expect(text).toContain('You cannot do this');
    expect((await t.db.query(`select count(*)::int as n from learner`)).rows[0].n).toBe(0);
  }, 60_000);

  it('imports an administrator’s file from the temporary directory, and removes it afterwards', async () => {
    const before = new Set(await readdir(tmpdir()));
    const token = await tokenOf(admin);
    const res = await admin.agent
      .post(`/learners/upload?_csrf=${encodeURIComponent(token)}`)
      .attach('file', Buffer.from('id_number,username,first_name,last_name,email\nT1,t.one,Tia,One,t1@example.org\n'), {
        filename: 'learners.csv',
        contentType: 'text/csv',
      });
    expect(res.status).toBe(303);
    expect((await t.db.query(`select count(*)::int as n from learner`)).rows[0].n).toBe(1);
    await new Promise((done) => setTimeout(done, 50));
    const left = (await readdir(tmpdir())).filter((name) => !before.has(name) && /^[0-9a-f]{32}$/.test(name));
    expect(left).toEqual([]);
  });
});
