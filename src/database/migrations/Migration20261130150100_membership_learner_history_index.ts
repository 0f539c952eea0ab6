import { Migration } from '@mikro-orm/migrations';

/**
 * A learner's page lists every membership they ever had, removed ones too, and the partial index
 * on current memberships could not serve that: the page read the whole membership table (446 ms at
 * a million memberships, against 0.4 ms through this index). One index on every membership serves
 * both the page and the sync's look-ups of a learner's current memberships, which filter the few
 * removed rows out.
 */
export class Migration20261130150100_membership_learner_history_index extends Migration {
  override up(): void {
    this.addSql(`create index membership_learner_history on membership (learner_id)`);
    this.addSql(`drop index membership_learner_idx`);
  }
}
