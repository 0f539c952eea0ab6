import { Migration } from '@mikro-orm/migrations';

/**
 * No foreign keys where every row a bulk action's chunk writes would check the same parent again
 * (the rule of Migration20261128020000_exception_actions): the staff member who handled an
 * exception, the certification of a message, the bulk action of an item. Those rows are written
 * set-based from the parent they name, which is never deleted (staff are disabled, certifications
 * and bulk actions kept), and the per-row checks cost as much as the chunk's messages themselves.
 */
export class Migration20261130112000_bulk_parent_checks extends Migration {
  override up(): void {
    this.addSql(`alter table exception drop constraint exception_handled_by_fkey`);
    this.addSql(`alter table outbox drop constraint outbox_certification_id_fkey`);
    this.addSql(`alter table bulk_action_item drop constraint bulk_action_item_bulk_action_id_fkey`);
  }
}
