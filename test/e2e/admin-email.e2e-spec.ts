import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { mainText, TestClient, TEST_PASSWORD } from '../support/app';
import { databaseUrl, TEST_REDIS_URL } from '../support/databases';
import { CertexProcess, startCertex } from '../support/processes';
import { freePort } from '../support/redis-server';

/**
 * A first start as `npm start` makes it (src/main.ts, NODE_ENV=development, demo data on by
 * default) on a database that does not exist yet, with ADMIN_EMAIL set: the first site
 * administrator gets that address, so the exceptions the demo data raises are told to them at
 * once, and Admin › Mail log shows the notices.
 */
describe('ADMIN_EMAIL on a first start with the demo data', () => {
  const runId = process.env.CERTEX_TEST_RUN!;
  const suffix = randomBytes(4).toString('hex');
  const database = databaseUrl(`certex_t_${runId}_${suffix}`);
  let certex: CertexProcess;
  let db: Pool;
  let admin: TestClient;

  beforeAll(async () => {
    const port = await freePort();
    certex = startCertex(
      {
        NODE_ENV: 'development',
        DEMO_DATA: '',
        LOG_FORMAT: 'text',
        DATABASE_URL: database,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: `certex-t-${runId}-${suffix}`,
        PORT: String(port),
        ADMIN_USERNAME: 'admin',
        ADMIN_PASSWORD: TEST_PASSWORD,
        ADMIN_EMAIL: 'it-desk@example.org',
      },
      120_000,
    );
    await certex.ready;
    db = new Pool({ connectionString: database, max: 2 });
    admin = new TestClient(`http://127.0.0.1:${port}`, '');
    await admin.signIn('admin', TEST_PASSWORD);
  }, 150_000);

  afterAll(async () => {
    await certex?.kill('SIGKILL');
    await db?.end();
  });

  it('gives the first administrator the address, and the mail log shows the “Exceptions require attention” notices', async () => {
    expect(certex.output()).toContain('Loaded the demo data');
    const { rows: staff } = await db.query(`select username, role, email, notify_exceptions from staff`);
    expect(staff).toEqual([{ username: 'admin', role: 'admin', email: 'it-desk@example.org', notify_exceptions: true }]);

    const log = await admin.get('/admin/mail?q=exceptions+require+attention');
    expect(log.status).toBe(200);
    const text = mainText(log.text).replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    expect(text).toContain('Site administrator <it-desk@example.org>');
    expect(text).toContain('Exceptions require attention in certification «Fire Safety Certification»');
    expect(text).toContain('Kept, not sent');

    // Each certification with open exceptions was told once, with the counts that its report shows.
    const { rows: notices } = await db.query(
      `select o.id, o.body_text, c.id as certification_id, c.full_name,
              (select count(*)::int from exception e where e.certification_id = c.id and e.status = 'open') as open
         from outbox o join certification c on c.id = o.certification_id
        where o.kind = 'admin_exceptions' and o.to_address = 'it-desk@example.org' order by c.id`,
    );
    const withExceptions = (
      await db.query(`select distinct certification_id from exception where status = 'open' and type <> 'unknown' order by 1`)
    ).rows;
    expect(notices.map((n) => n.certification_id)).toEqual(withExceptions.map((r) => r.certification_id));
    const fire = notices.find((n) => n.full_name === 'Fire Safety Certification')!;
    const message = await admin.get(`/admin/mail/${fire.id}`);
    expect(message.status).toBe(200);
    expect(mainText(message.text)).toContain(`The certification «Fire Safety Certification» has`);
    expect(fire.body_text).toMatch(/Open exceptions \(\d+\):\nTime allowance: \d+/);
    expect(fire.body_text).toContain(`/certifications/${fire.certification_id}/exceptions`);
  });
});
