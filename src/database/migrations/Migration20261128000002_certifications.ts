import { Migration } from '@mikro-orm/migrations';

/** Learners, audiences, courses, certifications with their paths, assignments, memberships and exceptions. */
export class Migration20261128000002_certifications extends Migration {
  override up(): void {
    this.addSql(`create extension if not exists pg_trgm`);

    this.addSql(`
      create table learner (
        id serial primary key,
        id_number varchar(100) not null,
        username varchar(100) not null,
        first_name varchar(100) not null,
        last_name varchar(100) not null,
        email varchar(254) not null,
        hire_date date,
        first_login_at timestamptz,
        suspended boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index learner_id_number_unique on learner (id_number)`);
    this.addSql(`create unique index learner_username_unique on learner (lower(username))`);
    this.addSql(`create index learner_name_idx on learner (lower(last_name), lower(first_name), id)`);
    this.addSql(
      `create index learner_search_trgm on learner using gin ((lower(first_name || ' ' || last_name || ' ' || id_number)) gin_trgm_ops)`,
    );

    this.addSql(`
      create table audience (
        id serial primary key,
        name varchar(200) not null,
        description text not null default '',
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index audience_name_unique on audience (lower(name))`);
    this.addSql(`
      create table audience_member (
        audience_id integer not null references audience (id) on delete cascade,
        learner_id integer not null references learner (id) on delete cascade,
        added_at timestamptz not null default now(),
        primary key (audience_id, learner_id)
      )`);
    this.addSql(`create index audience_member_learner_idx on audience_member (learner_id)`);

    this.addSql(`
      create table course (
        id serial primary key,
        short_name varchar(100) not null,
        full_name varchar(255) not null,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index course_short_name_unique on course (lower(short_name))`);
    this.addSql(`
      create table course_completion (
        id bigserial primary key,
        learner_id integer not null references learner (id) on delete cascade,
        course_id integer not null references course (id) on delete cascade,
        completed_at timestamptz not null,
        source varchar(20) not null check (source in ('csv', 'admin', 'api', 'demo')),
        recorded_by integer references staff (id),
        recorded_at timestamptz not null default now(),
        unique (learner_id, course_id, completed_at)
      )`);
    this.addSql(`create index course_completion_course_idx on course_completion (course_id, learner_id)`);

    this.addSql(`
      create table certification (
        id serial primary key,
        full_name varchar(255) not null,
        short_name varchar(100) not null,
        id_number varchar(100),
        summary text not null default '',
        active_period_amount integer not null check (active_period_amount > 0),
        active_period_unit varchar(10) not null check (active_period_unit in ('day', 'week', 'month', 'year')),
        window_period_amount integer not null check (window_period_amount >= 0),
        window_period_unit varchar(10) not null check (window_period_unit in ('day', 'week', 'month', 'year')),
        recertification_base varchar(20) not null default 'expiry' check (recertification_base in ('completion', 'expiry')),
        realistic_buffer_days integer not null default 7 check (realistic_buffer_days >= 0),
        certification_min_days integer not null default 0,
        recertification_min_days integer not null default 0,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index certification_short_name_unique on certification (lower(short_name))`);
    this.addSql(`create unique index certification_id_number_unique on certification (id_number) where id_number is not null`);

    // A path is an ordered list of course sets; the joiner links a set to the next one.
    this.addSql(`
      create table course_set (
        id serial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        path varchar(20) not null check (path in ('certification', 'recertification')),
        position integer not null,
        name varchar(200) not null,
        completion_rule varchar(10) not null check (completion_rule in ('all', 'any')),
        min_days integer not null default 0 check (min_days >= 0),
        joiner varchar(10) not null default 'and' check (joiner in ('and', 'or', 'then')),
        unique (certification_id, path, position) deferrable initially deferred
      )`);
    this.addSql(`
      create table course_set_course (
        course_set_id integer not null references course_set (id) on delete cascade,
        course_id integer not null references course (id),
        primary key (course_set_id, course_id)
      )`);
    this.addSql(`create index course_set_course_course_idx on course_set_course (course_id)`);

    this.addSql(`
      create table assignment (
        id serial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        kind varchar(10) not null check (kind in ('learner', 'audience')),
        learner_id integer references learner (id) on delete cascade,
        audience_id integer references audience (id) on delete cascade,
        due_rule varchar(10) not null check (due_rule in ('none', 'fixed', 'relative')),
        due_fixed_at timestamptz,
        due_amount integer,
        due_unit varchar(10) check (due_unit in ('day', 'week', 'month', 'year')),
        due_event varchar(20) check (due_event in ('assignment', 'hire', 'first_login', 'course_completion')),
        due_course_id integer references course (id),
        created_by integer references staff (id),
        created_at timestamptz not null default now(),
        check ((kind = 'learner') = (learner_id is not null) and (kind = 'audience') = (audience_id is not null)),
        check (due_rule <> 'fixed' or due_fixed_at is not null),
        check (due_rule <> 'relative' or (due_amount > 0 and due_unit is not null and due_event is not null)),
        check (due_event is distinct from 'course_completion' or due_course_id is not null)
      )`);
    this.addSql(`create unique index assignment_learner_unique on assignment (certification_id, learner_id) where kind = 'learner'`);
    this.addSql(`create unique index assignment_audience_unique on assignment (certification_id, audience_id) where kind = 'audience'`);

    // One learner in one certification. A removed membership keeps its row (history); a learner
    // added again gets a new one.
    this.addSql(`
      create table membership (
        id serial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        learner_id integer not null references learner (id) on delete cascade,
        due_at timestamptz,
        added_at timestamptz not null default now(),
        assigned_at timestamptz,
        exception_status varchar(30) not null default 'none'
          check (exception_status in ('none', 'open', 'assigned', 'assigned_realistic', 'not_assigned', 'dismissed')),
        state varchar(20) not null default 'not_certified'
          check (state in ('not_certified', 'certified', 'window_open', 'expired')),
        current_path varchar(20) not null default 'certification' check (current_path in ('certification', 'recertification')),
        path_started_at timestamptz not null default now(),
        cycle integer not null default 1,
        completion_recorded boolean not null default true,
        certified_at timestamptz,
        expires_at timestamptz,
        window_opens_at timestamptz,
        removed_at timestamptz
      )`);
    this.addSql(`create unique index membership_active_unique on membership (certification_id, learner_id) where removed_at is null`);
    this.addSql(`create index membership_learner_idx on membership (learner_id) where removed_at is null`);
    this.addSql(`create index membership_window_idx on membership (window_opens_at) where removed_at is null and state = 'certified'`);
    this.addSql(
      `create index membership_expiry_idx on membership (expires_at) where removed_at is null and state in ('certified', 'window_open')`,
    );

    // Which assignments bring a learner in (the "assigned by" of the membership report).
    this.addSql(`
      create table membership_source (
        membership_id integer not null references membership (id) on delete cascade,
        assignment_id integer not null references assignment (id) on delete cascade,
        primary key (membership_id, assignment_id)
      )`);
    this.addSql(`create index membership_source_assignment_idx on membership_source (assignment_id)`);

    // Each completed cycle of a membership, kept when the path is reset.
    this.addSql(`
      create table membership_history (
        id bigserial primary key,
        membership_id integer not null references membership (id) on delete cascade,
        cycle integer not null,
        path varchar(20) not null,
        state varchar(20) not null,
        certified_at timestamptz,
        expires_at timestamptz,
        event varchar(30) not null,
        recorded_at timestamptz not null default now(),
        unique (membership_id, cycle, event)
      )`);

    this.addSql(`
      create table exception (
        id bigserial primary key,
        membership_id integer not null references membership (id) on delete cascade,
        certification_id integer not null references certification (id) on delete cascade,
        learner_id integer not null references learner (id) on delete cascade,
        type varchar(30) not null check (type in ('duplicate_course', 'completion_time_unknown', 'time_allowance', 'unknown')),
        evidence jsonb not null default '{}',
        summary text not null,
        raised_at timestamptz not null default now(),
        status varchar(30) not null default 'open'
          check (status in ('open', 'assigned', 'assigned_realistic', 'not_assigned', 'dismissed', 'resolved')),
        handled_at timestamptz,
        handled_by integer references staff (id),
        reason text
      )`);
    this.addSql(`create unique index exception_one_open_per_membership on exception (membership_id) where status = 'open'`);
    this.addSql(`create index exception_open_by_certification on exception (certification_id, type, raised_at, id) where status = 'open'`);
    this.addSql(`create index exception_membership_idx on exception (membership_id, raised_at)`);

    // Requests for membership sync, so that a change made while a sync runs is never lost.
    this.addSql(`
      create table sync_run (
        id bigserial primary key,
        certification_id integer references certification (id) on delete cascade,
        reason varchar(100) not null,
        requested_at timestamptz not null default now(),
        started_at timestamptz,
        finished_at timestamptz,
        stats jsonb
      )`);
  }
}
