import { Migration } from '@mikro-orm/migrations';

/**
 * The learners a bulk action changed, in the order its job handled them: a page of 50 is an index
 * walk from the cursor, also for an action of 100,000 learners.
 */
export class Migration20261130040000_bulk_item_keys extends Migration {
  override up(): void {
    this.addSql(`create index bulk_action_item_applied on bulk_action_item (bulk_action_id, exception_id) where outcome = 'applied'`);
  }
}
