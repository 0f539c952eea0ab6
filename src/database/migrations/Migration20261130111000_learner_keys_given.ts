import { Migration } from '@mikro-orm/migrations';

/**
 * An insert that gives a membership's or an exception's learner sort keys (membership sync, which
 * reads them for a whole chunk in one join) is not looked up again row by row: the insert
 * triggers run only when a key is missing. A change of learner_id always recomputes them.
 */
export class Migration20261130111000_learner_keys_given extends Migration {
  override up(): void {
    for (const [table, fn] of [
      ['membership', 'membership_learner_keys'],
      ['exception', 'exception_learner_keys'],
    ]) {
      this.addSql(`drop trigger ${fn} on ${table}`);
      this.addSql(`
        create trigger ${fn} before insert on ${table}
          for each row when (new.learner_sort_name is null or new.learner_id_number is null) execute function ${fn}()`);
      this.addSql(`
        create trigger ${fn}_learner_changed before update of learner_id on ${table}
          for each row execute function ${fn}()`);
    }
  }
}
