import type { Pool } from 'pg';
import { startTestApp, TestClient } from '../support/app';
import type { BenchContext } from './run';
import { REPORT_STATES } from '../../src/reports/report-states';
import { downloadCsv, median, percentile, timed, timeRequests } from './measure';

/**
 * `npm run bench -- reports [memberships]`: one certification with 100,000 memberships in mixed
 * states and exception statuses (handled exceptions with who and why). For the Completion report
 * and the Membership report: 30 timed GETs of the first and of the last page, then the CSV of all
 * rows, timed, with the process's RSS sampled every 20 ms during the download and the CSV's lines
 * counted as they stream in (the client keeps nothing).
 */
export default async function reportsBench(ctx: BenchContext) {
  const total = Number(ctx.args[0] ?? 100000);
  const t = await startTestApp();
  try {
    const adminId = await t.createStaff('bench-admin', 'admin', undefined, 'Bench Admin');
    const admin = await t.signedIn('bench-admin');
    const arranged = await timed(() => arrange(t.db, total, adminId));
    const certificationId = arranged.result;
    ctx.figure(`arrange ${total} memberships (set-based SQL)`, arranged.ms / 1000, 's');
    // This server runs with autovacuum off; vacuum (analyze) does what autovacuum would after such a load.
    const vacuumed = await timed(() => t.db.query('vacuum (analyze) learner, membership, membership_source, exception'));
    ctx.figure('vacuum (analyze) after arranging', vacuumed.ms, 'ms');
    const mix = await t.db.query(
      `select report_state, count(*)::int as n from membership where certification_id = $1 and removed_at is null group by 1 order by 1`,
      [certificationId],
    );
    ctx.figure('report states arranged', JSON.stringify(Object.fromEntries(mix.rows.map((r) => [r.report_state, r.n]))));

    // What the Completion report's two queries cost in the database, first page in name order.
    for (const [label, sql] of [
      [
        'counts per state',
        `select s.report_state, (select count(*)::int from membership m where m.certification_id = $1 and m.removed_at is null
                              and m.report_state = s.report_state) as n from unnest($2::text[]) as s(report_state)`,
      ],
      [
        'first page',
        `select m.id, l.first_name, l.last_name, m.report_state from membership m join learner l on l.id = m.learner_id
                       where m.certification_id = $1 and m.removed_at is null order by m.learner_sort_name, m.id limit 51`,
      ],
      [
        'last page',
        `select m.id, l.first_name, l.last_name, m.report_state from membership m join learner l on l.id = m.learner_id
                       where m.certification_id = $1 and m.removed_at is null order by m.learner_sort_name desc, m.id desc limit 51`,
      ],
    ]) {
      const plan = (
        await t.db.query(`explain (analyze, format json) ${sql}`, sql.includes('$2') ? [certificationId, REPORT_STATES] : [certificationId])
      ).rows[0]['QUERY PLAN'][0];
      const nodes: string[] = [];
      const walk = (node: any) => {
        nodes.push(
          `${node['Node Type']}${node['Index Name'] ? ' using ' + node['Index Name'] : ''}${node['Heap Fetches'] !== undefined ? ` (heap fetches ${node['Heap Fetches']})` : ''}`,
        );
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(plan.Plan);
      ctx.figure(`Completion report SQL, ${label}: EXPLAIN ANALYZE`, `${plan['Execution Time'].toFixed(2)} ms, ${nodes.join(' > ')}`);
    }

    for (const [label, path] of [
      ['Completion report', `/certifications/${certificationId}/completion`],
      ['Membership report', `/certifications/${certificationId}/membership`],
    ]) {
      await measureReport(ctx, admin, label, path, total);
      // A report with a column chooser is measured again with every column ticked (the heaviest view).
      const columns = [...(await admin.get(path)).text.matchAll(/name="columns" value="([^"]+)"/g)].map((m) => m[1]);
      if (columns.length > 0) {
        const query = columns.map((c) => `columns=${encodeURIComponent(c)}`).join('&');
        await measureReport(ctx, admin, `${label} (all ${columns.length} optional columns)`, `${path}?${query}`, total);
      }
    }
  } finally {
    await t.close();
  }
}

async function arrange(db: Pool, total: number, adminId: number): Promise<number> {
  const { rows } = await db.query(
    `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
     values ('Report benchmark certification', 'REPORTS', 1, 'year', 1, 'month') returning id`,
  );
  const certificationId = rows[0].id;
  const audienceId = (await db.query(`insert into audience (name) values ('Everyone in the benchmark') returning id`)).rows[0].id;
  // Names in a scattered order (md5), so that name order is not id order.
  await db.query(
    `insert into learner (id_number, username, first_name, last_name, email)
     select 'R' || lpad(n::text, 6, '0'), 'r' || n, 'First' || (n % 997), 'Last' || substr(md5(n::text), 1, 8), 'r' || n || '@example.org'
       from generate_series(1, $1) n`,
    [total],
  );
  await db.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id_number like 'R%'`, [
    audienceId,
  ]);
  const assignmentId = (
    await db.query(
      `insert into assignment (certification_id, kind, audience_id, due_rule, created_by) values ($1, 'audience', $2, 'none', $3) returning id`,
      [certificationId, audienceId, adminId],
    )
  ).rows[0].id;
  // Every combination of exception status (n % 8) and lifecycle state ((n / 8) % 4); some completions
  // not recorded, some dates blank.
  await db.query(
    `insert into membership (certification_id, learner_id, due_at, assigned_at, exception_status, state, completion_recorded,
                             certified_at, expires_at)
     select $1, l.id,
            case when n % 5 = 0 then null else now() + make_interval(days => n % 400 - 100, secs => n % 86400) end,
            case when n % 9 = 0 then null else now() - make_interval(days => n % 300, secs => n % 86400) end,
            (array['none', 'none', 'none', 'open', 'assigned', 'assigned_realistic', 'not_assigned', 'dismissed'])[1 + n % 8],
            (array['not_certified', 'certified', 'window_open', 'expired'])[1 + (n / 8) % 4],
            n % 23 <> 0,
            case when (n / 8) % 4 > 0 then now() - make_interval(days => n % 700, secs => n % 86400) end,
            case when (n / 8) % 4 > 0 then now() + make_interval(days => n % 365 - 100, secs => n % 86400) end
       from (select id, substr(id_number, 2)::int as n from learner where id_number like 'R%') l`,
    [certificationId],
  );
  await db.query(`insert into membership_source (membership_id, assignment_id) select id, $2 from membership where certification_id = $1`, [
    certificationId,
    assignmentId,
  ]);
  // The exception behind every status other than None: open, or handled by the admin with a reason.
  await db.query(
    `insert into exception (membership_id, certification_id, learner_id, type, summary, status, handled_at, handled_by, reason, raised_at)
     select m.id, m.certification_id, m.learner_id,
            (array['duplicate_course', 'completion_time_unknown', 'time_allowance', 'unknown'])[1 + m.id % 4], 'Benchmark exception',
            m.exception_status,
            case when m.exception_status <> 'open' then now() - make_interval(hours => m.id % 500) end,
            case when m.exception_status <> 'open' then $2::int end,
            case when m.exception_status <> 'open' then 'Benchmark reason ' || m.id end,
            now() - make_interval(hours => 500 + m.id % 500)
       from membership m where m.certification_id = $1 and m.exception_status <> 'none'`,
    [certificationId, adminId],
  );
  return certificationId;
}

function decode(href: string): string {
  return href.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=');
}

async function measureReport(ctx: BenchContext, admin: TestClient, label: string, path: string, total: number) {
  const first = await admin.get(path);
  if (first.status !== 200) throw new Error(`${label}: GET ${path} answered ${first.status}`);
  const rowsOnFirst = (first.text.match(/<tr class="app-table__row"/g) ?? []).length;
  const lastHref = /href="([^"]+)"[^>]*>\s*Last page</.exec(first.text)?.[1];
  const csvHref = /<a[^>]*href="([^"]+)"[^>]*>\s*Download CSV/.exec(first.text)?.[1];
  if (!lastHref || !csvHref) throw new Error(`${label}: no Last page or Download CSV link on the first page`);
  const last = await admin.get(decode(lastHref));
  const rowsOnLast = (last.text.match(/<tr class="app-table__row"/g) ?? []).length;
  ctx.figure(`${label}: rows on first / last page`, `${rowsOnFirst} / ${rowsOnLast}`);
  if (rowsOnFirst !== 50 || rowsOnLast !== 50 || /rel="next"/.test(last.text))
    throw new Error(`${label}: pages are not full, or the last page has a next page`);

  for (const [which, url] of [
    ['first page', path],
    ['last page', decode(lastHref)],
  ]) {
    const durations = await timeRequests(30, () => admin.get(url));
    ctx.figure(`${label}: GET ${which}, median (target ≤ 50 ms)`, median(durations), 'ms');
    ctx.figure(`${label}: GET ${which}, p95`, percentile(durations, 95), 'ms');
  }
  await measureCsv(ctx, admin, label, decode(csvHref), total);
}

/** Downloads a CSV and prints its time, size and the process's memory growth beside the targets. */
async function measureCsv(ctx: BenchContext, admin: TestClient, label: string, url: string, total: number) {
  const result = await downloadCsv(admin, url);
  const rssBefore = result.rssBeforeMb;
  const rssPeak = result.rssPeakMb;
  const ms = result.seconds * 1000;
  ctx.figure(
    `${label}: CSV ${url.split('?')[0].split('/').pop()} status, lines, size`,
    `${result.status}, ${result.lines} lines, ${(result.bytes / 1024 / 1024).toFixed(1)} MB`,
  );
  ctx.figure(`${label}: CSV header`, result.header.trim());
  ctx.figure(`${label}: CSV of all rows, total time (target ≤ 5 s)`, ms / 1000, 's');
  ctx.figure(`${label}: RSS before / peak during download`, `${rssBefore.toFixed(0)} / ${rssPeak.toFixed(0)}`, 'MB');
  ctx.figure(`${label}: RSS growth during download (target ≤ 100 MB)`, rssPeak - rssBefore, 'MB');
  if (result.status !== 200 || result.lines !== total + 1) {
    throw new Error(`${label}: CSV answered ${result.status} with ${result.lines} lines, not ${total + 1}`);
  }
}
