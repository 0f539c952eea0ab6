import { Migration } from '@mikro-orm/migrations';

/**
 * No statement of Certex reads the outbox by membership: messages are found by their key, the mail
 * log by state, address, subject and key. outbox_membership only served the ON DELETE SET NULL of
 * a membership deleted, and Certex never deletes memberships (a removed learner keeps theirs, as
 * exception_audit's rows keep theirs without an index either); it cost every message one more index
 * entry, 200,000 for a bulk Assign of 100,000 exceptions.
 */
export class Migration20261130130200_outbox_membership_index_unused extends Migration {
  override up(): void {
    this.addSql(`drop index if exists outbox_membership`);
  }
}
