import { loadDemoData } from '../../src/bootstrap';
import { mainText, startTestApp, TestApp } from '../support/app';

describe('demo data', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    await t.createStaff('ada', 'admin');
  });
  afterAll(() => t.close());

  it('loads on a first start only, through the real sync and lifecycle, with every exception type and state', async () => {
    expect(await loadDemoData(t.app)).toBe(true);
    expect(await loadDemoData(t.app)).toBe(false);

    const count = async (sql: string) => Number((await t.db.query(sql)).rows[0].n);
    expect(await count('select count(*) as n from certification')).toBeGreaterThanOrEqual(3);
    expect(await count('select count(*) as n from learner')).toBeGreaterThanOrEqual(300);
    expect(await count('select count(*) as n from audience')).toBeGreaterThanOrEqual(3);
    const types = (await t.db.query(`select type, count(*)::int as n from exception where status = 'open' group by 1 order by 1`)).rows;
    expect(types.map((r) => r.type)).toEqual(['completion_time_unknown', 'duplicate_course', 'time_allowance', 'unknown']);
    const states = (await t.db.query(`select state from membership where removed_at is null group by 1 order by 1`)).rows.map(
      (r) => r.state,
    );
    expect(states).toEqual(['certified', 'expired', 'not_certified', 'window_open']);

    const admin = await t.signedIn('ada');
    const list = await admin.get('/certifications');
    expect(mainText(list.text)).toContain('Fire Safety Certification');
    const fire = (await t.db.query(`select id from certification where id_number = 'CERT-FIRE'`)).rows[0].id;
    const report = await admin.get(`/certifications/${fire}/exceptions`);
    expect(mainText(report.text)).toContain('Time allowance');
  });
});
