import { Migration } from '@mikro-orm/migrations';

/**
 * Exemptions (DOMAIN.md §10): a learner exempted from a certification, with a reason and an
 * optional end date, every exemption kept as history. An exempt member's membership has exception
 * status 'exempt' (not assigned, so no messages, no lifecycle steps, no exception checks), and the
 * report state says so: the generated column is made again with Exempt first.
 */
export class Migration20261130142000_exemptions extends Migration {
  override up(): void {
    this.addSql(`
      create table exemption (
        id serial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        learner_id integer not null references learner (id) on delete cascade,
        reason text not null,
        ends_at timestamptz,
        started_at timestamptz not null default now(),
        started_by integer references staff (id),
        ended_at timestamptz,
        ended_by integer references staff (id),
        end_cause varchar(20) check (end_cause in ('end_date', 'staff')),
        due_after timestamptz,
        check ((ended_at is null) = (end_cause is null))
      )`);
    // One exemption in force per learner and certification; the sync and the reports look it up by both.
    this.addSql(`create unique index exemption_in_force on exemption (certification_id, learner_id) where ended_at is null`);
    // The scheduled end reads the exemptions in force whose end date has come.
    this.addSql(`create index exemption_ends on exemption (ends_at) where ended_at is null and ends_at is not null`);
    this.addSql(`create index exemption_learner on exemption (learner_id, started_at)`);

    this.addSql(`alter table membership drop constraint membership_exception_status_check`);
    this.addSql(`alter table membership add constraint membership_exception_status_check
                  check (exception_status in ('none', 'open', 'assigned', 'assigned_realistic', 'not_assigned', 'dismissed', 'exempt'))`);
    // PostgreSQL 15 cannot change a generated column's expression: the column (and its index) is made again.
    this.addSql(`alter table membership drop column report_state`);
    this.addSql(`
      alter table membership add column report_state varchar(30) generated always as (
        case
          when exception_status = 'exempt' then 'exempt'
          when exception_status = 'open' then 'exception_pending'
          when exception_status = 'not_assigned' then 'not_assigned'
          when exception_status = 'dismissed' or not completion_recorded then 'completion_not_recorded'
          else state
        end) stored`);
    this.addSql(`create index membership_report_state_name on membership (certification_id, report_state, learner_sort_name, id)
                  where removed_at is null`);
  }
}
