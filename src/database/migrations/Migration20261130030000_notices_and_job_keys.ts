import { Migration } from '@mikro-orm/migrations';

/**
 * A bulk action's queue job is named by a random key instead of its id: ids start again at 1 when
 * the database is recreated or restored, while Redis may keep the old jobs of the same ids.
 *
 * The administrators' notice keeps what it has told: the newest exception a notice covered, and
 * since when exceptions raised inside the interval wait to be told. A certification may name extra
 * recipients of its notices.
 */
export class Migration20261130030000_notices_and_job_keys extends Migration {
  override up(): void {
    this.addSql(`alter table bulk_action add column job_key uuid not null default gen_random_uuid()`);
    this.addSql(`create unique index bulk_action_job_key on bulk_action (job_key)`);

    this.addSql(`alter table admin_notice add column told_through_exception_id bigint not null default 0`);
    this.addSql(`alter table admin_notice add column pending_since timestamptz`);
    // What the notices so far covered: every exception that existed before this change.
    this.addSql(`
      update admin_notice n set told_through_exception_id = coalesce(
        (select max(e.id) from exception e where e.certification_id = n.certification_id), 0)`);
    this.addSql(`create index admin_notice_pending on admin_notice (sent_at) where pending_since is not null`);

    this.addSql(`alter table certification add column notice_recipients text[] not null default '{}'`);
    this.addSql(
      `alter table certification add constraint certification_notice_recipients_max check (cardinality(notice_recipients) <= 20)`,
    );
  }
}
