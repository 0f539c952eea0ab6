import { Migration } from '@mikro-orm/migrations';

/**
 * Every email is a row here, written in the same transaction as the change that causes it. The
 * message key (from business facts) makes a second write of the same message a no-op, and the
 * relay sends each row with a Message-ID derived from that key.
 */
export class Migration20261128030000_outbox extends Migration {
  override up(): void {
    this.addSql(`
      create table outbox (
        id bigserial primary key,
        message_key varchar(300) not null,
        message_id varchar(300) not null,
        kind varchar(50) not null,
        to_address varchar(254) not null,
        to_name varchar(200),
        subject text not null,
        body_text text not null,
        body_html text not null,
        state varchar(20) not null default 'pending' check (state in ('pending', 'sending', 'sent', 'failed', 'kept')),
        attempts integer not null default 0,
        next_attempt_at timestamptz not null default now(),
        locked_until timestamptz,
        last_error text,
        created_at timestamptz not null default now(),
        sent_at timestamptz,
        certification_id integer references certification (id) on delete set null,
        membership_id integer references membership (id) on delete set null,
        staff_id integer references staff (id) on delete set null
      )`);
    this.addSql(`create unique index outbox_message_key_unique on outbox (message_key)`);
    this.addSql(`create index outbox_ready on outbox (next_attempt_at, id) where state in ('pending', 'sending')`);
    this.addSql(`create index outbox_newest on outbox (created_at desc, id desc)`);
    this.addSql(`create index outbox_membership on outbox (membership_id) where membership_id is not null`);
  }
}
