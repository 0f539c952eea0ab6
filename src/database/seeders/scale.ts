/**
 * `npm run seed:scale -- --learners 100000` builds a large data set in the DATABASE_URL database
 * for benchmarks: learners, one audience holding all of them, courses, a certification with course
 * sets and an audience assignment, then runs the membership sync, so that one certification has
 * a membership per learner and most of them carry an open exception.
 *
 * buildScaleData() is also used by test/bench/sync.bench.ts.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { errorMessage } from '../../common/error-fields';
import type { Pool, PoolClient, QueryResultRow } from 'pg';

export interface ScaleOptions {
  learners: number;
  /** Unique tag in every name, so that the seeder can run more than once on one database. */
  tag: string;
  /** Percentages of the learners: hired 80 days ago (too little time for a due date 3 months after hire) … */
  shortPercent: number;
  /** … with no hire date (completion time unknown) … */
  noHirePercent: number;
  /** … also assigned to another certification sharing a course (duplicate course). */
  duplicatePercent: number;
  /** The site's time zone: hire dates count back from today there. UTC unless given. */
  siteZone?: string;
}

export interface ScaleData {
  certificationId: number;
  otherCertificationId: number | null;
  audienceId: number;
  learners: number;
}

const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloe',
  'Dev',
  'Ewa',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jon',
  'Kemi',
  'Luis',
  'Mia',
  'Noor',
  'Owen',
  'Priya',
];
const LAST_NAMES = [
  'Adams',
  'Baker',
  'Chen',
  'Diaz',
  'Evans',
  'Fischer',
  'Garcia',
  'Hughes',
  'Ivanova',
  'Jones',
  'Khan',
  'Lopez',
  'Murphy',
  'Nowak',
  'Okafor',
  'Patel',
  'Quinn',
  'Rossi',
  'Singh',
  'Taylor',
];

export function newTag(): string {
  return randomBytes(3).toString('hex').toUpperCase();
}

/** Every insert is one set-based statement (generate_series); nothing is built row by row in Node. */
export async function buildScaleData(pool: Pool, options: ScaleOptions): Promise<ScaleData> {
  const { learners, tag, shortPercent, noHirePercent, duplicatePercent } = options;
  const siteZone = options.siteZone ?? 'UTC';
  const client = await pool.connect();
  const one = async <Row extends QueryResultRow>(text: string, params: unknown[] = []): Promise<Row> =>
    (await client.query<Row>(text, params)).rows[0];
  try {
    await client.query('begin');
    // Hire dates: none for the first noHirePercent of every hundred, 80 days ago for the next
    // shortPercent (3 months after hire is ~10 days away), recent for the rest (~2–3 months left).
    const range = await one<{ first: number; last: number }>(
      `with inserted as (
         insert into learner (id_number, username, first_name, last_name, email, hire_date, first_login_at)
         select $1 || '-' || lpad(g::text, 7, '0'),
                'scale.' || lower($1) || '.' || g,
                ($2::text[])[1 + g % array_length($2::text[], 1)],
                ($3::text[])[1 + (g / 7) % array_length($3::text[], 1)],
                'scale.' || lower($1) || '.' || g || '@example.org',
                case when g % 100 < $5 then null
                     when g % 100 < $5 + $6 then (now() at time zone $7::text)::date - 80
                     else (now() at time zone $7::text)::date - (g % 30) end,
                now() - (g % 365) * interval '1 day'
           from generate_series(1, $4::int) g
         returning id
       ) select min(id) as first, max(id) as last from inserted`,
      [tag, FIRST_NAMES, LAST_NAMES, learners, noHirePercent, shortPercent, siteZone],
    );
    const audienceId = (
      await one<IdRow>(`insert into audience (name, description) values ($1, 'Every learner of the scale data set') returning id`, [
        `Scale ${tag}: all learners`,
      ])
    ).id;
    await client.query(`insert into audience_member (audience_id, learner_id) select $1, id from learner where id between $2 and $3`, [
      audienceId,
      range.first,
      range.last,
    ]);

    const courses = await client.query<IdRow>(
      `insert into course (short_name, full_name)
       select $1 || '-' || s, f from unnest($2::text[], $3::text[]) as c(s, f)
       returning id`,
      [
        tag,
        ['FIRE', 'EVAC', 'FIRST-AID', 'REFRESH'],
        ['Fire safety basics', 'Evacuation drill', 'First aid at work', 'Annual safety refresher'],
      ],
    );
    const [fire, evac, firstAid, refresh] = courses.rows.map((r) => r.id);

    const certificationId = (
      await one<IdRow>(
        `insert into certification (full_name, short_name, id_number, summary, active_period_amount, active_period_unit,
                                    window_period_amount, window_period_unit, recertification_base,
                                    certification_min_days, recertification_min_days)
         values ($1, $2, $2, 'Scale data set for benchmarks', 1, 'year', 1, 'month', 'expiry', 30, 14) returning id`,
        [`Workplace safety (scale ${tag})`, `SAFETY-${tag}`],
      )
    ).id;
    await addSet(client, certificationId, 'certification', 1, 'Core safety', 'all', 20, 'and', [fire, evac]);
    await addSet(client, certificationId, 'certification', 2, 'First aid or refresher', 'any', 10, 'and', [firstAid, refresh]);
    await addSet(client, certificationId, 'recertification', 1, 'Annual refresher', 'all', 14, 'and', [refresh]);
    await client.query(
      `insert into assignment (certification_id, kind, audience_id, due_rule, due_amount, due_unit, due_event)
       values ($1, 'audience', $2, 'relative', 3, 'month', 'hire')`,
      [certificationId, audienceId],
    );

    let otherCertificationId: number | null = null;
    if (duplicatePercent > 0) {
      otherCertificationId = (
        await one<IdRow>(
          `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount, window_period_unit)
           values ($1, $2, 2, 'year', 1, 'month') returning id`,
          [`Fire warden (scale ${tag})`, `WARDEN-${tag}`],
        )
      ).id;
      await addSet(client, otherCertificationId, 'certification', 1, 'Warden training', 'all', 0, 'and', [fire]);
      const wardens = (await one<IdRow>(`insert into audience (name) values ($1) returning id`, [`Scale ${tag}: fire wardens`])).id;
      // The last duplicatePercent of every hundred, i.e. learners who would otherwise have enough time.
      await client.query(
        `insert into audience_member (audience_id, learner_id)
         select $1, g from generate_series($2::int, $3::int) g where (g - $2 + 1) % 100 >= 100 - $4`,
        [wardens, range.first, range.last, duplicatePercent],
      );
      await client.query(`insert into assignment (certification_id, kind, audience_id, due_rule) values ($1, 'audience', $2, 'none')`, [
        otherCertificationId,
        wardens,
      ]);
    }
    await client.query('commit');
    await client.query('analyze');
    return { certificationId, otherCertificationId, audienceId, learners };
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

interface IdRow {
  id: number;
}

async function addSet(
  client: PoolClient,
  certificationId: number,
  path: string,
  position: number,
  name: string,
  rule: string,
  minDays: number,
  joiner: string,
  courseIds: number[],
) {
  const set = await client.query<IdRow>(
    `insert into course_set (certification_id, path, position, name, completion_rule, min_days, joiner)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [certificationId, path, position, name, rule, minDays, joiner],
  );
  await client.query(`insert into course_set_course (course_set_id, course_id) select $1, unnest($2::int[])`, [set.rows[0].id, courseIds]);
}

function argument(args: string[], name: string, fallback: number): number {
  const index = args.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs a whole number, not "${args[index + 1]}"`);
  return value;
}

async function main() {
  const { Pool: PgPool } = await import('pg');
  const { loadConfig, redactUrl } = await import('../../config/config');
  const { ensureDatabase, migrate } = await import('../database');
  const { createApp } = await import('../../bootstrap');
  const { MembershipSyncService } = await import('../../assignments/sync/membership-sync.service');

  const args = process.argv.slice(2);
  const learners = argument(args, 'learners', 100000);
  if (learners < 1) throw new Error('--learners must be at least 1');
  const options: ScaleOptions = {
    learners,
    tag: newTag(),
    noHirePercent: argument(args, 'no-hire', 10),
    shortPercent: argument(args, 'short', 70),
    duplicatePercent: argument(args, 'duplicate', 5),
  };
  const config = loadConfig();
  options.siteZone = config.siteTimeZone;
  const started = Date.now();
  process.stdout.write(`Building scale data (tag ${options.tag}) in ${redactUrl(config.databaseUrl)}\n`);
  await ensureDatabase(config.databaseUrl);
  await migrate(config.databaseUrl);

  const pool = new PgPool({ connectionString: config.databaseUrl, max: 2 });
  // The app without queue processors: the sync runs here, with the services the worker uses.
  const app = await createApp({ ...config, processRole: 'web' }, false);
  try {
    const data = await buildScaleData(pool, options);
    const built = Date.now();
    process.stdout.write(`  data inserted in ${((built - started) / 1000).toFixed(1)} s\n`);
    const sync = app.get(MembershipSyncService);
    if (data.otherCertificationId) await sync.syncCertification(data.otherCertificationId, 'seed:scale');
    const result = await sync.syncCertification(data.certificationId, 'seed:scale');
    const synced = Date.now();
    const counts = (
      await pool.query<{ memberships: string; open_exceptions: string }>(
        `select (select count(*) from membership where certification_id = $1 and removed_at is null) as memberships,
                (select count(*) from exception where certification_id = $1 and status = 'open') as open_exceptions`,
        [data.certificationId],
      )
    ).rows[0];
    process.stdout.write(
      [
        `  certification ${data.certificationId} "Workplace safety (scale ${options.tag})", audience ${data.audienceId}` +
          (data.otherCertificationId ? `, overlapping certification ${data.otherCertificationId}` : ''),
        `  learners: ${learners}; memberships: ${counts.memberships}; open exceptions: ${counts.open_exceptions} ` +
          `(${JSON.stringify(result?.stats.exceptions_raised ?? {})})`,
        `  sync took ${((synced - built) / 1000).toFixed(1)} s; ${((synced - started) / 1000).toFixed(1)} s in all`,
        '',
      ].join('\n'),
    );
  } finally {
    await app.close();
    await pool.end();
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`seed:scale failed: ${errorMessage(error)}\n`);
    process.exit(1);
  });
}
