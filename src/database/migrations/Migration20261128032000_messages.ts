import { Migration } from '@mikro-orm/migrations';

/**
 * Learner message templates per certification, the administrators' notice of new exceptions
 * (one row per certification: when it was last sent, locked while deciding), and staff email
 * addresses for that notice.
 */
export class Migration20261128032000_messages extends Migration {
  override up(): void {
    this.addSql(`
      create table message_template (
        id serial primary key,
        certification_id integer not null references certification (id) on delete cascade,
        kind varchar(30) not null check (kind in ('enrolment', 'unenrolment', 'due_soon', 'overdue', 'certified',
                                                  'window_open', 'window_closing', 'failed_to_recertify')),
        enabled boolean not null default true,
        subject varchar(200) not null,
        body text not null,
        offset_days integer check (offset_days between 1 and 365),
        updated_at timestamptz not null default now(),
        updated_by integer references staff (id) on delete set null,
        unique (certification_id, kind)
      )`);

    this.addSql(`
      create table admin_notice (
        certification_id integer primary key references certification (id) on delete cascade,
        sent_at timestamptz not null
      )`);

    this.addSql(`alter table staff add column email varchar(254)`);
  }
}
