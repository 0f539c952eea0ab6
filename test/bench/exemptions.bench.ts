import { addDays, todayIn } from '../../src/common/time-zone';
import { ExemptionsService } from '../../src/exemptions/exemptions.service';
import { startTestApp } from '../support/app';
import type { BenchContext } from './run';

/**
 * `npm run bench -- exemptions [members]`: one certification of [members] learners (default
 * 20,000), all assigned; the Completion report's bulk exemption of all of them through HTTP (one
 * request, one transaction), then the scheduled end of every one of those exemptions (chunks of
 * 1,000, each with its catch-up messages). Wall times, to judge whether a request can hold it.
 */
export default async function exemptionsBench(ctx: BenchContext) {
  const members = Number(ctx.args[0] ?? 20000);
  const t = await startTestApp();
  try {
    await t.createStaff('ada', 'admin');
    const admin = await t.signedIn('ada');
    const cert = (
      await t.db.query(
        `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                    window_period_unit, certification_min_days, recertification_min_days)
         values ('Bench', 'BENCH', 1, 'year', 1, 'month', 30, 30) returning id`,
      )
    ).rows[0].id as number;
    await t.db.query(
      `with l as (
         insert into learner (id_number, username, first_name, last_name, email)
         select 'B' || lpad(n::text, 7, '0'), 'b' || n, 'Pat', 'Bench' || n, 'b' || n || '@example.org' from generate_series(1, $1) n
         returning id)
       insert into membership (certification_id, learner_id, due_at, assigned_at, exception_status)
       select $2, l.id, now() + interval '100 days', now(), 'none' from l`,
      [members, cert],
    );
    await t.db.query('vacuum (analyze) membership');
    ctx.figure('members', members);

    await admin.get(`/certifications/${cert}/completion`);
    const endsOn = addDays(todayIn(t.config.siteTimeZone), 1);
    let started = Date.now();
    const res = await admin.post(`/certifications/${cert}/exemptions`, { q: '', state: '', reason: 'Bench', endsOn });
    const exemptMs = Date.now() - started;
    if (res.status !== 303) throw new Error(`bulk exemption answered ${res.status}`);
    const exempt = (
      await t.db.query(`select count(*)::int as n from membership where certification_id = $1 and exception_status = 'exempt'`, [cert])
    ).rows[0].n as number;
    ctx.figure('bulk exemption, one request', exemptMs, 'ms');
    ctx.figure('learners exempt', exempt);

    started = Date.now();
    const ended = await t.inContext(() => t.app.get(ExemptionsService).endDue(new Date(Date.now() + 3 * 86400000)));
    ctx.figure('scheduled end of all of them', Date.now() - started, 'ms');
    ctx.figure('ended / assigned / messages', `${ended.ended} / ${ended.assigned} / ${ended.messages}`);
  } finally {
    await t.close();
  }
}
