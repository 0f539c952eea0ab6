import { Migration } from '@mikro-orm/migrations';

/**
 * Each exception names the membership sync run that raised it, so that the administrators' notice
 * finds what a run raised in SQL (a million of them are never carried through Node), and a run
 * that stopped between its chunks is still told by the next one.
 */
export class Migration20261130110000_sync_run_exceptions extends Migration {
  override up(): void {
    this.addSql(`alter table exception add column sync_run_id bigint`);
    this.addSql(`create index exception_sync_run on exception (sync_run_id, id) where sync_run_id is not null`);
    this.addSql(`create index sync_run_unfinished on sync_run (certification_id, id) where finished_at is null`);
  }
}
