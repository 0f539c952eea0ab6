import { Migration } from '@mikro-orm/migrations';

/**
 * Per-certification exception policies (DOMAIN.md §10): what membership sync does with a time
 * allowance or duplicate course exception as it raises one. 'hold' keeps today's behaviour.
 *
 * An exception handled by a policy is audited like a person's action, but by no person: the audit
 * row's staff_id may be null when, and only when, by_policy is set.
 */
export class Migration20261130141000_exception_policies extends Migration {
  override up(): void {
    this.addSql(`alter table certification
      add column time_allowance_policy varchar(30) not null default 'hold'
        constraint certification_time_allowance_policy_check check (time_allowance_policy in ('hold', 'assign_realistic')),
      add column duplicate_course_policy varchar(30) not null default 'hold'
        constraint certification_duplicate_course_policy_check check (duplicate_course_policy in ('hold', 'do_not_assign'))`);
    this.addSql(`alter table exception_audit
      alter column staff_id drop not null,
      add column by_policy boolean not null default false,
      add constraint exception_audit_by_someone check (by_policy or staff_id is not null)`);
  }
}
