import { Migration } from '@mikro-orm/migrations';

/**
 * Open exceptions per certification, type and the quarter hour (UTC) they were raised in, kept
 * exact by statement-level triggers on every change to `exception`, whoever makes it. Every time
 * zone's midnight falls on a quarter hour, so the Exceptions overview counts each certification's
 * exceptions raised today, 1 to 7 and 8 to 30 days ago on any reader's calendar from these rows,
 * without reading the exceptions themselves.
 *
 * The changes of a statement are applied in key order, so that two writers raising or handling
 * exceptions of the same certifications lock the rows they share in the same order and cannot
 * deadlock. Rows that fall to zero stay (a later exception of the same quarter hour reuses them)
 * and are ignored by the readers.
 */
export class Migration20261130140000_exception_open_quarters extends Migration {
  override up(): void {
    this.addSql(`
      create table exception_open_quarter_count (
        certification_id integer not null,
        type varchar(30) not null,
        raised_quarter timestamptz not null,
        n integer not null,
        primary key (certification_id, type, raised_quarter)
      )`);
    // The overview reads the last month's rows of every certification.
    this.addSql(
      `create index exception_open_quarter_recent on exception_open_quarter_count (raised_quarter) include (certification_id, n)`,
    );
    const quarter = (column: string) => `date_bin('15 minutes', ${column}, timestamptz '2000-01-01 00:00:00+00')`;
    this.addSql(`
      insert into exception_open_quarter_count (certification_id, type, raised_quarter, n)
      select certification_id, type, ${quarter('raised_at')}, count(*) from exception where status = 'open' group by 1, 2, 3`);
    const apply = (delta: string) => `
      insert into exception_open_quarter_count (certification_id, type, raised_quarter, n)
      select certification_id, type, raised_quarter, sum(d) from (${delta}) changes
       group by 1, 2, 3 having sum(d) <> 0
       order by 1, 2, 3
      on conflict (certification_id, type, raised_quarter) do update set n = exception_open_quarter_count.n + excluded.n`;
    const opened = `select certification_id, type, ${quarter('raised_at')} as raised_quarter, 1 as d from new_rows where status = 'open'`;
    const closed = `select certification_id, type, ${quarter('raised_at')} as raised_quarter, -1 as d from old_rows where status = 'open'`;
    for (const [event, delta, tables] of [
      ['insert', opened, 'new table as new_rows'],
      ['update', `${opened} union all ${closed}`, 'old table as old_rows new table as new_rows'],
      ['delete', closed, 'old table as old_rows'],
    ]) {
      this.addSql(`
        create function exception_open_quarter_count_${event}() returns trigger language plpgsql as $$
        begin
          ${apply(delta)};
          return null;
        end $$`);
      this.addSql(`
        create trigger exception_open_quarter_count_${event} after ${event} on exception
          referencing ${tables} for each statement execute function exception_open_quarter_count_${event}()`);
    }
  }
}
