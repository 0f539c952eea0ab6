import { Migration } from '@mikro-orm/migrations';

/**
 * The mail log counts each state's messages up to a limit. Without an index on the state, counting
 * a state that is rare or absent (failed, say) read the whole outbox, a million rows after a few
 * bulk actions; with it, each count reads at most the limit's entries of one small index.
 */
export class Migration20261130150000_outbox_state_index extends Migration {
  override up(): void {
    this.addSql(`create index outbox_state on outbox (state)`);
  }
}
