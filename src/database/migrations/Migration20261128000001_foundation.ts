import { Migration } from '@mikro-orm/migrations';

export class Migration20261128000001_foundation extends Migration {
  override up(): void {
    this.addSql(`
      create table staff (
        id serial primary key,
        username varchar(100) not null,
        display_name varchar(200) not null,
        role varchar(20) not null check (role in ('admin', 'viewer')),
        password_hash text not null,
        disabled boolean not null default false,
        notify_exceptions boolean not null default true,
        created_at timestamptz not null default now()
      )`);
    this.addSql(`create unique index staff_username_unique on staff (lower(username))`);

    // The session store of connect-pg-simple.
    this.addSql(`
      create table session (
        sid varchar not null primary key,
        sess json not null,
        expire timestamp(6) not null
      )`);
    this.addSql(`create index session_expire_idx on session (expire)`);

    this.addSql(`
      create table login_attempt (
        id bigserial primary key,
        username varchar(100) not null,
        ip varchar(64) not null,
        attempted_at timestamptz not null default now()
      )`);
    this.addSql(`create index login_attempt_username_idx on login_attempt (lower(username), attempted_at)`);
    this.addSql(`create index login_attempt_ip_idx on login_attempt (ip, attempted_at)`);

    // One row per run of a scheduled maintenance job: the example of an idempotent job.
    this.addSql(`
      create table maintenance_run (
        run_key varchar(100) primary key,
        sessions_removed integer not null,
        attempts_removed integer not null,
        finished_at timestamptz not null default now()
      )`);
  }
}
