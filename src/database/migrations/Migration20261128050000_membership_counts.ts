import { Migration } from '@mikro-orm/migrations';

/**
 * Active memberships per certification and report state, kept exact by statement-level triggers
 * (as exception_open_count is), so that the completion report's counts per state read a handful
 * of rows instead of counting 100,000 memberships on every request.
 */
export class Migration20261128050000_membership_counts extends Migration {
  override up(): void {
    this.addSql(`
      create table membership_state_count (
        certification_id integer not null,
        report_state varchar(30) not null,
        n integer not null,
        primary key (certification_id, report_state)
      )`);
    this.addSql(`
      insert into membership_state_count (certification_id, report_state, n)
      select certification_id, report_state, count(*) from membership where removed_at is null group by 1, 2`);
    const apply = (delta: string) => `
      insert into membership_state_count (certification_id, report_state, n)
      select certification_id, report_state, sum(d) from (${delta}) changes group by 1, 2 having sum(d) <> 0
      on conflict (certification_id, report_state) do update set n = membership_state_count.n + excluded.n`;
    const added = `select certification_id, report_state, 1 as d from new_rows where removed_at is null`;
    const gone = `select certification_id, report_state, -1 as d from old_rows where removed_at is null`;
    for (const [event, delta, tables] of [
      ['insert', added, 'new table as new_rows'],
      ['update', `${added} union all ${gone}`, 'old table as old_rows new table as new_rows'],
      ['delete', gone, 'old table as old_rows'],
    ]) {
      this.addSql(`
        create function membership_state_count_${event}() returns trigger language plpgsql as $$
        begin
          ${apply(delta)};
          return null;
        end $$`);
      this.addSql(`
        create trigger membership_state_count_${event} after ${event} on membership
          referencing ${tables} for each statement execute function membership_state_count_${event}()`);
    }
  }
}
