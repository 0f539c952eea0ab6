import { AssignmentPreviewService } from '../../src/assignments/preview/assignment-preview.service';
import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { buildScaleData, newTag } from '../../src/database/seeders/scale';
import { startTestApp } from '../support/app';
import type { BenchContext } from './run';
import { timed } from './measure';

/**
 * `npm run bench -- preview [learners…]` (default 10000 100000): the preview of adding an audience
 * assignment that covers that many learners (20% without enough time, 5% without a hire date, 5%
 * also fire wardens sharing a course), through the page and through the service, beside the sync
 * that then adds the same learners and raises the same exceptions; the ratio is preview / sync.
 */
export default async function previewBench(ctx: BenchContext) {
  const sizes = (ctx.args.length > 0 ? ctx.args : ['10000', '100000']).map(Number);
  const t = await startTestApp({ PROCESS_ROLE: 'web' });
  try {
    const staffId = await t.createStaff('ada', 'admin');
    const admin = await t.signedIn('ada');
    const sync = t.app.get(MembershipSyncService);
    const previews = t.app.get(AssignmentPreviewService);
    for (const learners of sizes) {
      const built = await buildScaleData(t.db, { learners, tag: newTag(), shortPercent: 20, noHirePercent: 5, duplicatePercent: 5 });
      const { certificationId, audienceId, otherCertificationId } = built;
      if (otherCertificationId) await sync.syncCertification(otherCertificationId, 'benchmark: the wardens');
      // The data set comes with the assignment: taken away, so that the preview and then Save add it.
      await t.db.query(`delete from assignment where certification_id = $1`, [certificationId]);
      await t.db.query('analyze');
      const input = {
        kind: 'audience' as const,
        learnerIdNumber: null,
        audienceId,
        dueRule: 'relative' as const,
        dueDate: null,
        dueAmount: 3,
        dueUnit: 'month' as const,
        dueEvent: 'hire' as const,
        dueCourseId: null,
      };
      const query = `kind=audience&audienceId=${audienceId}&dueRule=relative&dueAmount=3&dueUnit=month&dueEvent=hire`;
      const page = await timed(() => admin.get(`/certifications/${certificationId}/assignments/preview?${query}`));
      if (page.result.status !== 200) throw new Error(`preview page answered ${page.result.status}`);
      const service = await timed(() => previews.previewAdd(certificationId, input, staffId));
      const own = service.result[0];

      await t.db.query(
        `insert into assignment (certification_id, kind, audience_id, due_rule, due_amount, due_unit, due_event)
         values ($1, 'audience', $2, 'relative', 3, 'month', 'hire')`,
        [certificationId, audienceId],
      );
      const run = await timed(() => sync.syncCertification(certificationId, 'benchmark'));
      const stats = run.result!.stats;
      const raised = Object.fromEntries(own.raised.map((r) => [r.type, r.count]));
      ctx.figure(`${learners} learners: preview page (HTTP)`, page.ms / 1000, 's');
      ctx.figure(`${learners} learners: preview (service)`, service.ms / 1000, 's');
      ctx.figure(`${learners} learners: sync of the same change`, run.ms / 1000, 's');
      ctx.figure(`${learners} learners: preview / sync`, service.ms / run.ms, '×');
      ctx.figure(`${learners} learners: preview added, raised`, `${own.added}, ${JSON.stringify(raised)}`);
      ctx.figure(`${learners} learners: sync added, raised`, `${stats.added}, ${JSON.stringify(stats.exceptions_raised)}`);
      const sameRaised = Object.keys({ ...raised, ...stats.exceptions_raised }).every(
        (type) => raised[type] === stats.exceptions_raised[type as keyof typeof stats.exceptions_raised],
      );
      if (own.added !== stats.added || !sameRaised) {
        throw new Error('the preview and the sync disagree');
      }
    }
  } finally {
    await t.close();
  }
}
