import { Migration } from '@mikro-orm/migrations';

/**
 * exception_audit's index on (exception_id) alone is covered by its unique index on
 * (exception_id, bulk_action_id), which every lookup by exception (the reopening's last action of
 * an exception, a bulk action's changed learners, the cascade from a deleted exception) can walk as
 * well; it only cost one more index entry for each audit row a bulk action writes.
 */
export class Migration20261130130100_audit_exception_index_covered extends Migration {
  override up(): void {
    this.addSql(`drop index if exists exception_audit_exception_idx`);
  }
}
