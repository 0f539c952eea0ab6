import { Migration } from '@mikro-orm/migrations';

/**
 * A bulk action's queue job is named by a random key instead of its id: ids start again at 1 when
 * the database is recreated or restored, while Redis may keep the old jobs of the same ids.
 */
export class Migration20261130030000_notices_and_job_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table bulk_action add column job_key uuid not null default gen_random_uuid()`);
    this.addSql(`create unique index bulk_action_job_key on bulk_action (job_key)`);
  }
}
