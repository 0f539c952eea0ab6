import { Migration } from '@mikro-orm/migrations';

/** Each staff member's own time zone (an IANA name); null reads and types times in SITE_TIMEZONE. */
export class Migration20261130100000_time_zones extends Migration {
  override up(): void {
    this.addSql(`alter table staff add column time_zone varchar(64)`);
  }
}
