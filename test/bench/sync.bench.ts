import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { LifecycleService } from '../../src/lifecycle/lifecycle.service';
import { buildScaleData, newTag } from '../../src/database/seeders/scale';
import { startTestApp } from '../support/app';
import type { BenchContext } from './run';
import { rssMb, timed } from './measure';

/**
 * `npm run bench -- sync [learners] [policy]`: one audience of 100,000 learners assigned to one
 * certification with a due date 3 months after hire; 20% were hired 80 days ago and get a
 * time allowance exception. Measures the sync in this (all-in-one) process. With `policy`, the
 * certification's exception policy sets a realistic due date and assigns them automatically.
 */
export default async function syncBench(ctx: BenchContext) {
  const learners = Number(ctx.args[0] ?? 100000);
  const policy = ctx.args[1] === 'policy';
  const t = await startTestApp();
  try {
    const built = await timed(() =>
      buildScaleData(t.db, { learners, tag: newTag(), shortPercent: 20, noHirePercent: 0, duplicatePercent: 0 }),
    );
    ctx.figure('data set built', built.ms / 1000, 's');
    const { certificationId } = built.result;
    const sync = t.app.get(MembershipSyncService);
    if (policy) {
      await t.db.query(`update certification set time_allowance_policy = 'assign_realistic' where id = $1`, [certificationId]);
    }

    global.gc?.();
    const baseline = rssMb();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50);
    const run = await timed(() => sync.syncCertification(certificationId, 'benchmark'));
    clearInterval(sampler);
    peak = Math.max(peak, rssMb());

    const rows = (
      await t.db.query(
        `select (select count(*) from membership where certification_id = $1) as memberships,
                (select count(*) from exception where certification_id = $1) as exceptions,
                (select count(*) from membership_source s join membership m on m.id = s.membership_id
                  where m.certification_id = $1) as sources`,
        [certificationId],
      )
    ).rows[0];
    ctx.figure('learners', learners);
    ctx.figure('sync duration (target ≤ 15 s)', run.ms / 1000, 's');
    ctx.figure('memory growth during sync, peak RSS − baseline (target ≤ 150 MB)', peak - baseline, 'MB');
    ctx.figure('memberships written', Number(rows.memberships));
    ctx.figure('exceptions written', Number(rows.exceptions));
    ctx.figure('membership sources written', Number(rows.sources));
    ctx.figure('exceptions by type', JSON.stringify(run.result?.stats.exceptions_raised));
    ctx.figure('exceptions handled by policy', run.result?.stats.exceptions_handled_by_policy ?? 0);
    const enrolments = await t.db.query(`select count(*) as n from outbox where certification_id = $1 and kind = 'enrolment'`, [
      certificationId,
    ]);
    ctx.figure('enrolment messages written by the sync', Number(enrolments.rows[0].n));

    const again = await timed(() => sync.syncCertification(certificationId, 'benchmark, nothing changed'));
    ctx.figure('second sync, nothing changed', again.ms / 1000, 's');
    ctx.figure('second sync raised', JSON.stringify(again.result?.stats.exceptions_raised));

    // The lifecycle's scheduled job over the same 100,000 memberships (none complete yet).
    const lifecycle = t.app.get(LifecycleService);
    const check = await timed(() => lifecycle.completionCheck(null));
    ctx.figure('completion check over every membership', check.ms / 1000, 's');
    const steps = await timed(() => lifecycle.runSteps(new Date()));
    ctx.figure('lifecycle steps', steps.ms / 1000, 's');
  } finally {
    await t.close();
  }
}
