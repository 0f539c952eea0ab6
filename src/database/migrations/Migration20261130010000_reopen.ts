import { Migration } from '@mikro-orm/migrations';

/**
 * Reopening handled exceptions is a bulk action of its own, which may name the bulk action whose
 * exceptions it reopens; the report asks for this certification's unfinished bulk actions on every view.
 */
export class Migration20261130010000_reopen extends Migration {
  override up(): void {
    this.addSql(`alter table bulk_action drop constraint bulk_action_action_check`);
    this.addSql(`
      alter table bulk_action add constraint bulk_action_action_check
        check (action in ('assign', 'assign_realistic', 'do_not_assign', 'dismiss', 'reopen'))`);
    this.addSql(`alter table bulk_action add column reopens_bulk_action_id bigint references bulk_action (id)`);
    this.addSql(`create index bulk_action_unfinished on bulk_action (certification_id, id) where state in ('queued', 'running')`);
    this.addSql(`create index exception_audit_bulk_action_idx on exception_audit (bulk_action_id, exception_id)`);
  }
}
