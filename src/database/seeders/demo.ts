import type { EntityManager } from '@mikro-orm/postgresql';
import { inTransaction, sql, SqlRunner } from '../sql';
import { totalMinimumDays } from '../../certifications/minimum-time';
import { todaySql } from '../../lifecycle/period';

/**
 * Demo data for a first start: realistic certifications, several hundred learners, audiences and
 * assignments whose sync raises exceptions of every type, and completions that leave learners
 * certified, in their recertification window and expired. Everything is plain SQL; the caller then
 * runs the real membership sync and lifecycle so that the result is what Certex itself computes.
 */

const FIRST_NAMES = [
  'Amelia',
  'Oliver',
  'Isla',
  'George',
  'Ava',
  'Noah',
  'Mia',
  'Arthur',
  'Ivy',
  'Leo',
  'Grace',
  'Oscar',
  'Freya',
  'Harry',
  'Lily',
  'Jack',
  'Florence',
  'Charlie',
  'Willow',
  'Theo',
  'Rosie',
  'Muhammad',
  'Sophia',
  'Alfie',
  'Evie',
  'Henry',
  'Ella',
  'Finley',
  'Poppy',
  'Archie',
  'Aisha',
  'Ravi',
  'Chen',
  'Zofia',
  'Kwame',
  'Siobhan',
  'Tomasz',
  'Priya',
  'Dmitri',
  'Fatima',
];
const LAST_NAMES = [
  'Smith',
  'Jones',
  'Taylor',
  'Brown',
  'Williams',
  'Wilson',
  'Johnson',
  'Davies',
  'Patel',
  'Robinson',
  'Wright',
  'Thompson',
  'Evans',
  'Walker',
  'White',
  'Roberts',
  'Green',
  'Hall',
  'Wood',
  'Jackson',
  'Clarke',
  'Khan',
  'Lewis',
  'Hughes',
  'Edwards',
  'Okafor',
  'Nowak',
  'Murphy',
  'Singh',
  'Kowalski',
  'Ahmed',
  "O'Brien",
  'MacDonald',
  'Zhang',
  'Mensah',
];
const DEMO_LEARNERS = 400;

const COURSES: Array<[string, string]> = [
  ['FIRE101', 'Fire safety basics'],
  ['FIRE201', 'Fire warden practice'],
  ['MH100', 'Manual handling'],
  ['FAW', 'First aid at work'],
  ['FAW-R', 'First aid refresher'],
  ['HS-IND', 'Health and safety induction'],
  ['GDPR100', 'Data protection essentials'],
  ['INFOSEC', 'Information security awareness'],
  ['PHISH', 'Recognising phishing'],
  ['FOOD2', 'Food hygiene level 2'],
  ['ALLERGEN', 'Allergen awareness'],
];

interface DemoSet {
  path: 'certification' | 'recertification';
  name: string;
  courses: string[];
  rule: 'all' | 'any';
  minDays: number;
  joiner: 'and' | 'or' | 'then';
}

interface DemoCertification {
  fullName: string;
  shortName: string;
  idNumber: string;
  summary: string;
  active: [number, string];
  window: [number, string];
  base: 'completion' | 'expiry';
  sets: DemoSet[];
}

const CERTIFICATIONS: DemoCertification[] = [
  {
    fullName: 'Fire Safety Certification',
    shortName: 'Fire safety',
    idNumber: 'CERT-FIRE',
    summary: 'Yearly fire safety training for every member of staff, with practice for fire wardens.',
    active: [1, 'year'],
    window: [1, 'month'],
    base: 'expiry',
    sets: [
      { path: 'certification', name: 'Fire safety basics', courses: ['FIRE101'], rule: 'all', minDays: 7, joiner: 'then' },
      { path: 'certification', name: 'Warden practice', courses: ['FIRE201'], rule: 'all', minDays: 14, joiner: 'and' },
      { path: 'recertification', name: 'Fire safety refresher', courses: ['FIRE101'], rule: 'all', minDays: 7, joiner: 'and' },
    ],
  },
  {
    fullName: 'First Aid at Work',
    shortName: 'First aid',
    idNumber: 'CERT-FAW',
    summary: 'Qualified first aiders for every site, renewed every three years.',
    active: [3, 'year'],
    window: [3, 'month'],
    base: 'expiry',
    sets: [
      { path: 'certification', name: 'First aid course', courses: ['FAW'], rule: 'all', minDays: 21, joiner: 'and' },
      { path: 'certification', name: 'Induction', courses: ['HS-IND'], rule: 'all', minDays: 3, joiner: 'and' },
      { path: 'recertification', name: 'Refresher', courses: ['FAW-R'], rule: 'all', minDays: 7, joiner: 'and' },
    ],
  },
  {
    fullName: 'Data Protection Compliance',
    shortName: 'Data protection',
    idNumber: 'CERT-DP',
    summary: 'Annual data protection and information security training.',
    active: [1, 'year'],
    window: [1, 'month'],
    base: 'completion',
    sets: [
      { path: 'certification', name: 'Data protection', courses: ['GDPR100'], rule: 'all', minDays: 5, joiner: 'or' },
      { path: 'certification', name: 'Information security', courses: ['INFOSEC'], rule: 'all', minDays: 10, joiner: 'and' },
      { path: 'certification', name: 'Phishing', courses: ['PHISH'], rule: 'all', minDays: 2, joiner: 'and' },
      { path: 'recertification', name: 'Annual refresher', courses: ['GDPR100', 'INFOSEC'], rule: 'any', minDays: 3, joiner: 'and' },
    ],
  },
  {
    fullName: 'Warehouse Safety',
    shortName: 'Warehouse safety',
    idNumber: 'CERT-WH',
    summary: 'Manual handling and fire safety for warehouse staff.',
    active: [2, 'year'],
    window: [2, 'month'],
    base: 'expiry',
    sets: [
      { path: 'certification', name: 'Safe lifting and fire', courses: ['MH100', 'FIRE101'], rule: 'all', minDays: 10, joiner: 'and' },
      { path: 'recertification', name: 'Manual handling refresher', courses: ['MH100'], rule: 'all', minDays: 5, joiner: 'and' },
    ],
  },
  {
    fullName: 'Food Safety',
    shortName: 'Food safety',
    idNumber: 'CERT-FOOD',
    summary: 'Food hygiene and allergen awareness for kitchen staff.',
    active: [1, 'year'],
    window: [1, 'month'],
    base: 'expiry',
    sets: [
      {
        path: 'certification',
        name: 'Food hygiene and allergens',
        courses: ['FOOD2', 'ALLERGEN'],
        rule: 'all',
        minDays: 14,
        joiner: 'and',
      },
      { path: 'recertification', name: 'Allergen refresher', courses: ['ALLERGEN'], rule: 'all', minDays: 3, joiner: 'and' },
    ],
  },
];

/** Whether the database holds no learners and no certifications yet (a first start). */
export async function isEmpty(em: EntityManager): Promise<boolean> {
  const row = await new SqlRunner(em).one<{ n: string }>(
    sql`select (select count(*) from learner) + (select count(*) from certification) as n`,
  );
  return Number(row?.n ?? 0) === 0;
}

/** `siteZone`: hire dates count back from today in the site's time zone, not the database session's. */
export async function insertDemoData(em: EntityManager, siteZone: string): Promise<void> {
  await inTransaction(em, async (db) => {
    // Learners: every 4th hired recently (new starters), some without a hire date or a first login.
    await db.run(sql`
      insert into learner (id_number, username, first_name, last_name, email, hire_date, first_login_at, suspended)
       select 'E' || lpad(n::text, 5, '0'),
              'user' || n,
              (${FIRST_NAMES}::text[])[1 + (n * 7) % ${FIRST_NAMES.length}],
              (${LAST_NAMES}::text[])[1 + (n * 13) % ${LAST_NAMES.length}],
              'user' || n || '@example.org',
              case when n % 40 = 0 then null
                   when n % 4 = 0 then ${todaySql(siteZone)} - (5 + n % 60)
                   else ${todaySql(siteZone)} - (200 + n * 3) end,
              case when n % 25 = 0 then null else now() - make_interval(days => n % 90) end,
              n % 97 = 0
         from generate_series(1, ${DEMO_LEARNERS}) as n`);

    const shortNames = COURSES.map((c) => c[0]);
    const fullNames = COURSES.map((c) => c[1]);
    await db.run(sql`insert into course (short_name, full_name) select * from unnest(${shortNames}::text[], ${fullNames}::text[])`);

    for (const cert of CERTIFICATIONS) {
      const minDays = (path: DemoSet['path']) => totalMinimumDays(cert.sets.filter((s) => s.path === path));
      const [activeAmount, activeUnit] = cert.active;
      const [windowAmount, windowUnit] = cert.window;
      const { id } = (await db.one<{ id: number }>(sql`
        insert into certification (full_name, short_name, id_number, summary, active_period_amount, active_period_unit,
                                   window_period_amount, window_period_unit, recertification_base,
                                   certification_min_days, recertification_min_days)
        values (${cert.fullName}, ${cert.shortName}, ${cert.idNumber}, ${cert.summary}, ${activeAmount}, ${activeUnit},
                ${windowAmount}, ${windowUnit}, ${cert.base}, ${minDays('certification')}, ${minDays('recertification')})
        returning id`))!;
      for (const path of ['certification', 'recertification'] as const) {
        const sets = cert.sets.filter((s) => s.path === path);
        for (const [position, set] of sets.entries()) {
          const { id: setId } = (await db.one<{ id: number }>(sql`
            insert into course_set (certification_id, path, position, name, completion_rule, min_days, joiner)
            values (${id}, ${path}, ${position + 1}, ${set.name}, ${set.rule}, ${set.minDays}, ${set.joiner}) returning id`))!;
          await db.run(sql`
            insert into course_set_course (course_set_id, course_id)
            select ${setId}, id from course where short_name = any(${set.courses}::text[])`);
        }
      }
    }

    const audiences: Array<[string, string, string]> = [
      ['All staff', 'Everyone employed by the organisation.', 'true'],
      ['Fire wardens', 'Staff who lead an evacuation on their floor.', 'n % 13 = 0'],
      ['Warehouse team', 'Staff of the distribution centre.', 'n % 5 = 1'],
      ['New starters', 'Staff hired in the last few months.', 'n % 4 = 0'],
      ['Kitchen staff', 'Staff of the staff restaurant.', 'n % 8 = 3'],
    ];
    for (const [name, description, condition] of audiences) {
      await db.run(sql`insert into audience (name, description) values (${name}, ${description})`);
      await db.run(sql`
        insert into audience_member (audience_id, learner_id)
        select a.id, l.id from audience a, learner l, lateral (select substr(l.id_number, 2)::int as n) k
         where a.name = ${name} and ${sql.raw(condition)}`);
    }

    const assign = (cert: string, audience: string, rule: string, due: DemoDue) =>
      db.run(sql`
        insert into assignment (certification_id, kind, audience_id, due_rule, due_fixed_at, due_amount, due_unit, due_event, due_course_id)
        select c.id, 'audience', a.id, ${rule}, ${due.fixed ?? null}::timestamptz, ${due.amount ?? null}, ${due.unit ?? null},
               ${due.event ?? null}, (select id from course where short_name = ${due.course ?? null})
          from certification c, audience a where c.id_number = ${cert} and a.name = ${audience}`);
    const inDays = (days: number) => new Date(Date.now() + days * 86400000).toISOString();
    // Fire wardens due in 10 days against 21 days of training: time allowance exceptions.
    await assign('CERT-FIRE', 'Fire wardens', 'fixed', { fixed: inDays(10) });
    await assign('CERT-FIRE', 'Warehouse team', 'fixed', { fixed: inDays(120) });
    // Warehouse safety shares Fire safety basics with Fire safety: duplicate course exceptions.
    await assign('CERT-WH', 'Warehouse team', 'relative', { amount: 60, unit: 'day', event: 'assignment' });
    // New starters: two months after hire; no hire date → completion time unknown; recent → time allowance.
    await assign('CERT-FAW', 'New starters', 'relative', { amount: 2, unit: 'month', event: 'hire' });
    await assign('CERT-DP', 'All staff', 'fixed', { fixed: inDays(150) });
    // Kitchen staff who never logged in are future assignments.
    await assign('CERT-FOOD', 'Kitchen staff', 'relative', { amount: 1, unit: 'month', event: 'first_login' });

    // Data protection completions: recent (certified), 11.5 months ago (window open), 14 months ago (expired).
    await db.run(sql`
      insert into course_completion (learner_id, course_id, completed_at, source)
       select l.id, c.id,
              case when k.n % 3 = 0 then now() - interval '60 days'
                   when k.n % 3 = 1 then now() - interval '345 days'
                   else now() - interval '425 days' end,
              'demo'
         from learner l
         cross join lateral (select substr(l.id_number, 2)::int as n) k
         join course c on c.short_name in ('GDPR100', 'PHISH')
        where k.n % 2 = 0`);
  });
}

/** When an assignment of the demo data falls due. */
interface DemoDue {
  fixed?: string;
  amount?: number;
  unit?: string;
  event?: string;
  course?: string;
}

/**
 * Exceptions brought in by an import from a legacy system, with a cause Certex does not
 * recognise: the only way an "Unknown" exception arises.
 */
export async function importLegacyExceptions(em: EntityManager): Promise<void> {
  await inTransaction(em, async (db) => {
    const picked = await db.rows<{ id: number; certification_id: number; learner_id: number }>(sql`
      select m.id, m.certification_id, m.learner_id from membership m join certification c on c.id = m.certification_id
       where c.id_number = 'CERT-FOOD' and m.removed_at is null and m.exception_status = 'none' and m.state = 'not_certified'
       order by m.id limit 3`);
    const evidence = JSON.stringify({ imported: 'LEGACY-LMS: enrolment state 7' });
    for (const row of picked) {
      await db.run(sql`update membership set exception_status = 'open', assigned_at = null where id = ${row.id}`);
      await db.run(sql`
        insert into exception (membership_id, certification_id, learner_id, type, evidence, summary)
        values (${row.id}, ${row.certification_id}, ${row.learner_id}, 'unknown', ${evidence}::jsonb, 'Imported: LEGACY-LMS: enrolment state 7')`);
    }
  });
}
