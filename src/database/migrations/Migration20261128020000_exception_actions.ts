import { Migration } from '@mikro-orm/migrations';

/**
 * The exception report's sort keys (copied from the learner and kept in step by triggers, so that
 * every sort order is an index range of one certification's open exceptions), bulk actions with
 * their snapshotted items, one-time confirmation drafts, and the audit of every handled exception.
 */
export class Migration20261128020000_exception_actions extends Migration {
  override up(): void {
    this.addSql(`alter table exception add column learner_sort_name text, add column learner_id_number varchar(100)`);
    this.addSql(`
      update exception e set learner_sort_name = lower(l.last_name || ' ' || l.first_name), learner_id_number = l.id_number
        from learner l where l.id = e.learner_id`);
    this.addSql(`alter table exception alter column learner_sort_name set not null, alter column learner_id_number set not null`);
    this.addSql(`
      create function exception_learner_keys() returns trigger language plpgsql as $$
      begin
        select lower(l.last_name || ' ' || l.first_name), l.id_number
          into new.learner_sort_name, new.learner_id_number
          from learner l where l.id = new.learner_id;
        return new;
      end $$`);
    this.addSql(`
      create trigger exception_learner_keys before insert or update of learner_id on exception
        for each row execute function exception_learner_keys()`);
    this.addSql(`
      create function learner_exception_keys() returns trigger language plpgsql as $$
      begin
        update exception set learner_sort_name = lower(new.last_name || ' ' || new.first_name), learner_id_number = new.id_number
         where learner_id = new.id;
        return null;
      end $$`);
    this.addSql(`
      create trigger learner_exception_keys after update of first_name, last_name, id_number on learner
        for each row
        when (old.first_name is distinct from new.first_name or old.last_name is distinct from new.last_name
              or old.id_number is distinct from new.id_number)
        execute function learner_exception_keys()`);

    for (const [name, columns] of [
      ['name', 'learner_sort_name, id'],
      ['id_number', 'learner_id_number, id'],
      ['raised', 'raised_at, id'],
      ['type_name', 'type, learner_sort_name, id'],
      ['type_id_number', 'type, learner_id_number, id'],
    ]) {
      this.addSql(`create index exception_open_${name} on exception (certification_id, ${columns}) where status = 'open'`);
    }

    this.addSql(`
      create table bulk_action (
        id bigserial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        action varchar(30) not null check (action in ('assign', 'assign_realistic', 'do_not_assign', 'dismiss')),
        reason text,
        selection_label text not null,
        created_by integer not null references staff (id),
        created_at timestamptz not null default now(),
        state varchar(30) not null default 'queued'
          check (state in ('queued', 'running', 'completed', 'completed_with_failures', 'failed')),
        total integer not null default 0,
        processed integer not null default 0,
        applied integer not null default 0,
        already_handled integer not null default 0,
        failed integer not null default 0,
        started_at timestamptz,
        finished_at timestamptz,
        error text
      )`);
    this.addSql(`create index bulk_action_newest on bulk_action (created_at desc, id desc)`);
    // No foreign keys where every row of a chunk would check the same parent again: bulk actions
    // and staff are never deleted, and the checks cost more than the chunk's own work.
    this.addSql(`alter table exception add column bulk_action_id bigint`);

    this.addSql(`
      create table bulk_action_item (
        bulk_action_id bigint not null references bulk_action (id) on delete cascade,
        exception_id bigint not null,
        outcome varchar(20) check (outcome in ('applied', 'already_handled', 'failed')),
        message text,
        processed_at timestamptz,
        primary key (bulk_action_id, exception_id)
      )`);
    this.addSql(`create index bulk_action_item_pending on bulk_action_item (bulk_action_id, exception_id) where outcome is null`);

    // What the confirmation page confirms: made by Continue, used once by OK.
    this.addSql(`
      create table bulk_action_draft (
        token uuid primary key default gen_random_uuid(),
        certification_id integer not null references certification (id) on delete cascade,
        created_by integer not null references staff (id),
        created_at timestamptz not null default now(),
        action varchar(30) not null,
        reason text,
        selection jsonb not null,
        bulk_action_id bigint references bulk_action (id) on delete set null,
        used_at timestamptz
      )`);

    this.addSql(`
      create table exception_audit (
        id bigserial primary key,
        exception_id bigint not null references exception (id) on delete cascade,
        membership_id integer not null references membership (id) on delete cascade,
        certification_id integer not null,
        bulk_action_id bigint,
        action varchar(30) not null,
        reason text,
        staff_id integer not null,
        acted_at timestamptz not null default now(),
        status_before varchar(30) not null,
        status_after varchar(30) not null,
        due_before timestamptz,
        due_after timestamptz,
        unique (exception_id, bulk_action_id)
      )`);
    this.addSql(`create index exception_audit_exception_idx on exception_audit (exception_id)`);

    // Open exceptions per certification and type, kept exact by statement-level triggers, so that
    // the tab label and the report's counts never count 100,000 rows per request.
    this.addSql(`
      create table exception_open_count (
        certification_id integer not null,
        type varchar(30) not null,
        n integer not null,
        primary key (certification_id, type)
      )`);
    this.addSql(`
      insert into exception_open_count (certification_id, type, n)
      select certification_id, type, count(*) from exception where status = 'open' group by 1, 2`);
    const apply = (delta: string) => `
      insert into exception_open_count (certification_id, type, n)
      select certification_id, type, sum(d) from (${delta}) changes group by 1, 2 having sum(d) <> 0
      on conflict (certification_id, type) do update set n = exception_open_count.n + excluded.n`;
    const opened = `select certification_id, type, 1 as d from new_rows where status = 'open'`;
    const closed = `select certification_id, type, -1 as d from old_rows where status = 'open'`;
    for (const [event, delta, tables] of [
      ['insert', opened, 'new table as new_rows'],
      ['update', `${opened} union all ${closed}`, 'old table as old_rows new table as new_rows'],
      ['delete', closed, 'old table as old_rows'],
    ]) {
      this.addSql(`
        create function exception_open_count_${event}() returns trigger language plpgsql as $$
        begin
          ${apply(delta)};
          return null;
        end $$`);
      this.addSql(`
        create trigger exception_open_count_${event} after ${event} on exception
          referencing ${tables} for each statement execute function exception_open_count_${event}()`);
    }
  }
}
