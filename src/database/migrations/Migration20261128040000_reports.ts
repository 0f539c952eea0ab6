import { Migration } from '@mikro-orm/migrations';

/**
 * The completion and membership reports page by keyset in any column order over 100,000
 * memberships of one certification: the learner's sort keys are copied onto the membership (kept
 * in step by triggers, as for exceptions) and the state a report shows is a stored column.
 */
export class Migration20261128040000_reports extends Migration {
  override up(): void {
    this.addSql(`alter table membership add column learner_sort_name text, add column learner_id_number varchar(100)`);
    this.addSql(`
      update membership m set learner_sort_name = lower(l.last_name || ' ' || l.first_name), learner_id_number = l.id_number
        from learner l where l.id = m.learner_id`);
    this.addSql(`alter table membership alter column learner_sort_name set not null, alter column learner_id_number set not null`);
    this.addSql(`
      create function membership_learner_keys() returns trigger language plpgsql as $$
      begin
        select lower(l.last_name || ' ' || l.first_name), l.id_number
          into new.learner_sort_name, new.learner_id_number
          from learner l where l.id = new.learner_id;
        return new;
      end $$`);
    this.addSql(`
      create trigger membership_learner_keys before insert or update of learner_id on membership
        for each row execute function membership_learner_keys()`);
    // The learner trigger of the exception report also keeps the memberships in step.
    this.addSql(`
      create or replace function learner_exception_keys() returns trigger language plpgsql as $$
      begin
        update exception set learner_sort_name = lower(new.last_name || ' ' || new.first_name), learner_id_number = new.id_number
         where learner_id = new.id;
        update membership set learner_sort_name = lower(new.last_name || ' ' || new.first_name), learner_id_number = new.id_number
         where learner_id = new.id;
        return null;
      end $$`);

    // The state of the completion report (DOMAIN.md §6): exception states first, then the lifecycle.
    this.addSql(`
      alter table membership add column report_state varchar(30) generated always as (
        case
          when exception_status = 'open' then 'exception_pending'
          when exception_status = 'not_assigned' then 'not_assigned'
          when exception_status = 'dismissed' or not completion_recorded then 'completion_not_recorded'
          else state
        end) stored`);

    for (const [name, columns] of [
      ['name', 'learner_sort_name, id'],
      ['id_number', 'learner_id_number, id'],
      ['state_name', 'report_state, learner_sort_name, id'],
      ['exception_status_name', 'exception_status, learner_sort_name, id'],
      ['due', "coalesce(due_at, 'infinity'::timestamptz), id"],
      ['assigned', "coalesce(assigned_at, 'infinity'::timestamptz), id"],
      ['certified', "coalesce(certified_at, 'infinity'::timestamptz), id"],
      ['expires', "coalesce(expires_at, 'infinity'::timestamptz), id"],
    ]) {
      this.addSql(`create index membership_report_${name} on membership (certification_id, ${columns}) where removed_at is null`);
    }
  }
}
