import { Migration } from '@mikro-orm/migrations';

/**
 * An audience member upload that has been checked and is waiting for its preview's Save: the
 * learners the file names, kept on the server between the two requests (the page carries only the
 * random token, and only the administrator who uploaded the file may use it). Rows expire after an
 * hour and the maintenance job deletes them.
 */
export class Migration20261130143000_pending_member_upload extends Migration {
  override up(): void {
    this.addSql(`
      create table pending_member_upload (
        token uuid primary key default gen_random_uuid(),
        audience_id integer not null references audience (id) on delete cascade,
        staff_id integer not null references staff (id) on delete cascade,
        file_rows integer not null,
        created_at timestamptz not null default now(),
        expires_at timestamptz not null
      )`);
    this.addSql(`create index pending_member_upload_expires on pending_member_upload (expires_at)`);
    this.addSql(`
      create table pending_member_upload_learner (
        token uuid not null references pending_member_upload (token) on delete cascade,
        learner_id integer not null references learner (id) on delete cascade,
        primary key (token, learner_id)
      )`);
    this.addSql(`create index pending_member_upload_learner_learner on pending_member_upload_learner (learner_id)`);
  }
}
