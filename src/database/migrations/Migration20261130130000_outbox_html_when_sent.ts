import { Migration } from '@mikro-orm/migrations';

/**
 * A message's HTML part is rendered from its stored subject and plain text when it is read (by
 * the relay that sends it, or the mail log that shows it), not stored: it is a function of those
 * two columns, and rendering and storing it with every row made a bulk action's 200,000 messages
 * nearly twice the bytes and regular-expression work. Rows written before keep the HTML they have.
 */
export class Migration20261130130000_outbox_html_when_sent extends Migration {
  override up(): void {
    this.addSql(`alter table outbox alter column body_html drop not null`);
  }
}
