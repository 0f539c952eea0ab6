import { Migration } from '@mikro-orm/migrations';

/**
 * The Exception report's search reads the exception alone: the learner's search text (the
 * expression of learner_search_trgm) is copied onto the exception and kept in step by the learner
 * triggers, as its sort keys are, under a trigram index of the open exceptions. Finding the
 * learners first and then each one's exceptions cost a lookup per match: half a second for a
 * surname shared by 50,000 members of a million.
 */
export class Migration20261130120000_exception_learner_search extends Migration {
  override up(): void {
    this.addSql(`alter table exception add column learner_search text`);
    this.addSql(`
      update exception e set learner_search = lower(l.first_name || ' ' || l.last_name || ' ' || l.id_number)
        from learner l where l.id = e.learner_id`);
    this.addSql(`alter table exception alter column learner_search set not null`);
    this.addSql(`
      create or replace function exception_learner_keys() returns trigger language plpgsql as $$
      begin
        select lower(l.last_name || ' ' || l.first_name), l.id_number, lower(l.first_name || ' ' || l.last_name || ' ' || l.id_number)
          into new.learner_sort_name, new.learner_id_number, new.learner_search
          from learner l where l.id = new.learner_id;
        return new;
      end $$`);
    this.addSql(`drop trigger exception_learner_keys on exception`);
    this.addSql(`
      create trigger exception_learner_keys before insert on exception
        for each row when (new.learner_sort_name is null or new.learner_id_number is null or new.learner_search is null)
        execute function exception_learner_keys()`);
    this.addSql(`
      create or replace function learner_exception_keys() returns trigger language plpgsql as $$
      begin
        update exception set learner_sort_name = lower(new.last_name || ' ' || new.first_name), learner_id_number = new.id_number,
                             learner_search = lower(new.first_name || ' ' || new.last_name || ' ' || new.id_number)
         where learner_id = new.id;
        update membership set learner_sort_name = lower(new.last_name || ' ' || new.first_name), learner_id_number = new.id_number
         where learner_id = new.id;
        return null;
      end $$`);
    this.addSql(`create index exception_open_search on exception using gin (learner_search gin_trgm_ops) where status = 'open'`);
  }
}
