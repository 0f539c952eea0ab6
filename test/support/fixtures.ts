import type { Pool } from 'pg';

/**
 * Arranges a certification with learners, memberships and open exceptions directly in SQL, the
 * way membership sync leaves them, for the exception report and bulk action tests and benchmarks.
 */
export interface ExceptionFixture {
  certificationId: number;
  /** Open exception ids by type, in learner order. */
  exceptionIds: Record<string, number[]>;
}

export interface FixtureOptions {
  /** Exceptions to raise, by type, e.g. { time_allowance: 60, duplicate_course: 5 }. */
  counts: Record<string, number>;
  shortName?: string;
  certificationMinDays?: number;
  bufferDays?: number;
  /** Learner ID numbers start with this prefix. */
  prefix?: string;
}

export async function createExceptionFixture(db: Pool, options: FixtureOptions): Promise<ExceptionFixture> {
  const prefix = options.prefix ?? 'L';
  const shortName = options.shortName ?? `Cert ${prefix}`;
  const { rows } = await db.query(
    `insert into certification (full_name, short_name, active_period_amount, active_period_unit, window_period_amount,
                                window_period_unit, certification_min_days, recertification_min_days, realistic_buffer_days)
     values ($1, $2, 1, 'year', 1, 'month', $3, 5, $4) returning id`,
    [`${shortName} certification`, shortName, options.certificationMinDays ?? 21, options.bufferDays ?? 7],
  );
  const certificationId = rows[0].id;
  const exceptionIds: Record<string, number[]> = {};
  let offset = 0;
  for (const [type, count] of Object.entries(options.counts)) {
    if (count === 0) continue;
    // Learners named so that name order is ID order: Learner00001 Test, ...
    const inserted = await db.query(
      `with learners as (
         insert into learner (id_number, username, first_name, last_name, email)
         select $1 || lpad((n + $2)::text, 6, '0'), lower($1) || '-' || (n + $2), 'Pat', $1 || lpad((n + $2)::text, 6, '0'),
                lower($1) || (n + $2) || '@example.org'
           from generate_series(1, $3) n
         returning id, id_number),
       memberships as (
         insert into membership (certification_id, learner_id, due_at, exception_status, added_at)
         select $4, id, now() + interval '5 days', 'open', now() from learners
         returning id, learner_id)
       insert into exception (membership_id, certification_id, learner_id, type, evidence, summary, raised_at)
       select m.id, $4, m.learner_id, $5, '{}'::jsonb, $6, now() - make_interval(secs => l.id)
         from memberships m join learners l on l.id = m.learner_id
       returning id, learner_id`,
      [prefix, offset, count, certificationId, type, `${type} evidence`],
    );
    exceptionIds[type] = inserted.rows.sort((a, b) => a.learner_id - b.learner_id).map((r) => Number(r.id));
    offset += count;
  }
  return { certificationId, exceptionIds };
}
