import { loadavg } from 'node:os';
import { MembershipSyncService } from '../../src/assignments/sync/membership-sync.service';
import { AdminNoticeService } from '../../src/notifications/admin-notice.service';
import { buildScaleData, newTag } from '../../src/database/seeders/scale';
import { startTestApp, TestClient } from '../support/app';
import type { BenchContext } from './run';
import { downloadCsv, median, percentile, rssMb, timed, timeRequests } from './measure';
import { StatementTimer } from './statement-timer';

/**
 * `npm run bench -- scale [learners=1000000]`: one certification with a million members, built as
 * `npm run seed:scale` builds it (10% without a hire date, 70% hired 80 days ago, 5% also in a
 * certification sharing a course), then, each figure beside its target:
 * - the membership sync of that certification, as the worker runs it: duration, peak RSS growth of
 *   this process, where its time went by statement, and the administrators' notice it wrote;
 * - the hourly sync (every certification, nothing changed) and the scheduled notice job;
 * - the Exception report (first page, last page, Raised newest first, a search for a full name and
 *   one for a surname, a type filter), the Completion and the Membership report (first and last page): median of timed GETs,
 *   signed in, through HTTP;
 * - the Exception report's and the Completion report's CSV of every row: time, RSS growth and V8
 *   heap growth, the lines counted as they stream in (the client keeps nothing). The client runs in
 *   this process too; what it holds at a time is a chunk of the response.
 */
const TARGET = { syncS: 120, syncMb: 300, pageMs: 20, csvS: 30, csvMb: 100 };
const TIMED_GETS = 20;

export default async function scaleBench(ctx: BenchContext) {
  const learners = Number(ctx.args[0] ?? 1000000);
  ctx.figure(
    'load average at start (1, 5, 15 min)',
    loadavg()
      .map((n) => n.toFixed(2))
      .join(', '),
  );
  const t = await startTestApp({ ADMIN_NOTICE_INTERVAL_MINUTES: '60' });
  try {
    const adminId = await t.createStaff('scale-admin', 'admin', undefined, 'Scale Admin');
    await t.db.query(`update staff set email = 'scale-admin@example.org', notify_exceptions = true where id = $1`, [adminId]);
    const built = await timed(() =>
      buildScaleData(t.db, { learners, tag: newTag(), shortPercent: 70, noHirePercent: 10, duplicatePercent: 5 }),
    );
    ctx.figure(`data set built (${learners} learners)`, built.ms / 1000, 's');
    const { certificationId, otherCertificationId } = built.result;
    const sync = t.app.get(MembershipSyncService);
    if (otherCertificationId) {
      const other = await timed(() => sync.syncCertification(otherCertificationId, 'benchmark: the certification sharing a course'));
      ctx.figure('sync of the certification sharing a course', other.ms / 1000, 's');
    }

    // The sync of a million new members, with this process's RSS sampled every 50 ms.
    global.gc?.();
    const baseline = rssMb();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 50);
    const timer = new StatementTimer();
    timer.start();
    let run;
    try {
      run = await timed(() => sync.syncCertification(certificationId, 'benchmark'));
    } finally {
      clearInterval(sampler);
    }
    const statements = await timer.stop();
    peak = Math.max(peak, rssMb());
    const stats = run.result!.stats;
    ctx.figure(`sync of ${learners} new members (target ≤ ${TARGET.syncS} s)`, run.ms / 1000, 's');
    ctx.figure(`RSS growth during the sync, peak − baseline (target ≤ ${TARGET.syncMb} MB)`, peak - baseline, 'MB');
    ctx.figure('load average after the sync', loadavg()[0].toFixed(2));
    ctx.figure('sync: added, exceptions raised by type', `${stats.added}, ${JSON.stringify(stats.exceptions_raised)}`);
    for (const s of statements.slice(0, 6)) ctx.figure(`  sync statement ×${s.count}: ${s.statement}`, s.totalMs / 1000, 's');

    const counts = (
      await t.db.query(
        `select (select count(*)::int from membership where certification_id = $1 and removed_at is null) as members,
                (select count(*)::int from exception where certification_id = $1 and status = 'open') as open`,
        [certificationId],
      )
    ).rows[0];
    ctx.figure('memberships / open exceptions in the database', `${counts.members} / ${counts.open}`);
    if (counts.members !== learners) throw new Error(`the sync made ${counts.members} memberships, not ${learners}`);

    // The administrators' notice of that sync: one email, counting what the sync raised.
    const notice = (
      await t.db.query(`select to_address, body_text from outbox where kind = 'admin_exceptions' and certification_id = $1 order by id`, [
        certificationId,
      ])
    ).rows as Array<{ to_address: string; body_text: string }>;
    const told = /has ([\d,]+) new exceptions?/.exec(notice[0]?.body_text ?? '')?.[1]?.replace(/,/g, '');
    ctx.figure(
      'admin notice sent by the sync (target: one, telling every open exception)',
      notice.length === 0 ? 'none' : `${notice.length} to ${notice[0].to_address}, tells ${told} new of ${counts.open} open`,
    );
    ctx.figure('sync result notice outcome', JSON.stringify(run.result!.notice));

    // This server runs with autovacuum off; vacuum (analyze) does what autovacuum would after such a load.
    const vacuumed = await timed(() =>
      t.db.query('vacuum (analyze) learner, membership, membership_source, exception, audience_member, admin_notice, outbox'),
    );
    ctx.figure('vacuum (analyze) after the sync', vacuumed.ms / 1000, 's');

    // The hourly sync: every certification, nothing changed since.
    global.gc?.();
    const hourlyBase = rssMb();
    let hourlyPeak = hourlyBase;
    const hourlySampler = setInterval(() => (hourlyPeak = Math.max(hourlyPeak, rssMb())), 50);
    let hourly;
    try {
      hourly = await timed(() => sync.syncAll('benchmark: hourly'));
    } finally {
      clearInterval(hourlySampler);
    }
    ctx.figure(`hourly sync of every certification, nothing changed (target ≤ ${TARGET.syncS} s)`, hourly.ms / 1000, 's');
    ctx.figure(`RSS growth during the hourly sync (target ≤ ${TARGET.syncMb} MB)`, Math.max(hourlyPeak, rssMb()) - hourlyBase, 'MB');
    ctx.figure(
      'hourly sync: added, removed, rechecked open, raised',
      hourly.result
        .map((r) => `${r.stats.added}, ${r.stats.removed}, ${r.stats.rechecked_open}, ${JSON.stringify(r.stats.exceptions_raised)}`)
        .join(' | '),
    );
    const due = await timed(() => t.app.get(AdminNoticeService).sendDueNotices());
    ctx.figure('scheduled notice job (sendDueNotices)', `${due.ms.toFixed(0)} ms, ${JSON.stringify(due.result)}`);

    const admin = await t.signedIn('scale-admin');
    const exceptions = `/certifications/${certificationId}/exceptions`;
    const first = await admin.get(exceptions);
    const lastHref = /href="([^"]+)"[^>]*>\s*Last page</.exec(first.text)?.[1];
    const pages: Array<[string, string]> = [
      ['Exception report: first page', exceptions],
      ['Exception report: last page', lastHref ? decode(lastHref) : `${exceptions}?page=last`],
      ['Exception report: sorted by Raised, newest first', `${exceptions}?sort=raised&dir=desc`],
      ['Exception report: search for a full name (1 learner in 320)', `${exceptions}?q=ada%20okafor`],
      ['Exception report: search for a surname (1 learner in 20)', `${exceptions}?q=okafor`],
      ['Exception report: type filter (duplicate course)', `${exceptions}?type=duplicate_course`],
      ['Completion report: first page', `/certifications/${certificationId}/completion`],
      ['Completion report: last page', `/certifications/${certificationId}/completion?page=last`],
      ['Membership report: first page', `/certifications/${certificationId}/membership`],
      ['Membership report: last page', `/certifications/${certificationId}/membership?page=last`],
    ];
    ctx.figure('load average before the pages', loadavg()[0].toFixed(2));
    for (const [label, url] of pages) {
      const res = await admin.get(url);
      const rows = (res.text.match(/<tr class="app-table__row"/g) ?? []).length;
      if (res.status !== 200 || rows === 0) throw new Error(`${label}: GET ${url} answered ${res.status} with ${rows} rows`);
      const durations = await timeRequests(TIMED_GETS, () => admin.get(url));
      ctx.figure(
        `${label}: median of ${TIMED_GETS} (target ≤ ${TARGET.pageMs} ms)`,
        `${median(durations).toFixed(1)} ms (p95 ${percentile(durations, 95).toFixed(1)} ms, ${rows} rows)`,
      );
    }

    ctx.figure('load average before the downloads', loadavg()[0].toFixed(2));
    await measureCsv(ctx, admin, 'Exception report', `${exceptions}.csv`, counts.open);
    await measureCsv(ctx, admin, 'Completion report', `/certifications/${certificationId}/completion.csv`, counts.members);
    ctx.figure(
      'load average at the end',
      loadavg()
        .map((n) => n.toFixed(2))
        .join(', '),
    );
  } finally {
    await t.close();
  }
}

function decode(href: string): string {
  return href.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
}

/** Downloads a CSV and prints its time and the process's memory growth beside the targets. */
async function measureCsv(ctx: BenchContext, admin: TestClient, label: string, url: string, rows: number) {
  const result = await downloadCsv(admin, url);
  const seconds = result.seconds;
  const rssBefore = result.rssBeforeMb;
  const rssPeak = result.rssPeakMb;
  if (result.status !== 200) {
    ctx.figure(`${label}: CSV of every row`, `not available (GET ${url.split('/').pop()} answered ${result.status})`);
    return;
  }
  ctx.figure(`${label}: CSV lines, size`, `${result.lines} lines (${rows} rows + header), ${(result.bytes / 1024 / 1024).toFixed(1)} MB`);
  ctx.figure(`${label}: CSV of every row, total time (target ≤ ${TARGET.csvS} s)`, seconds, 's');
  ctx.figure(`${label}: RSS growth during the download (target ≤ ${TARGET.csvMb} MB)`, rssPeak - rssBefore, 'MB');
  ctx.figure(`${label}: V8 heap growth during the download, peak − after a full collection`, result.heapPeakMb - result.heapBeforeMb, 'MB');
  if (result.lines !== rows + 1) throw new Error(`${label}: the CSV has ${result.lines} lines, not ${rows + 1}`);
}
