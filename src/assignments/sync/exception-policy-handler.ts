import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { DuplicateCoursePolicy, PolicyRule, policyRules, TimeAllowancePolicy } from '../../certifications/exception-policy';
import { Sql, sql, SqlRunner } from '../../database/sql';
import { membershipChangeSql } from '../../exceptions/action-effects';
import { ACTION_STATUS } from '../../exceptions/exception-rules';
import { LearnerMessagesService } from '../../notifications/learner-messages.service';

/** The reason an exception handled by a policy carries, in its row and its audit entry. */
export const POLICY_REASON = 'Handled by the certification’s exception policy';

interface PolicyRow {
  time_allowance_policy: TimeAllowancePolicy;
  duplicate_course_policy: DuplicateCoursePolicy;
}

/**
 * The certification's exception policy, applied by membership sync in a chunk's transaction right
 * after the chunk raised its exceptions (DOMAIN.md §10): each exception of a type the policy
 * handles leaves Open as the matching person's action would leave it (DOMAIN.md §4), its
 * membership changes the same way, an audit entry says it was done by policy, and learners
 * assigned get their catch-up messages in the same transaction. Set-based: the chunk's raised
 * exceptions are found through the sync's own tables, never listed in Node.
 */
@Injectable()
export class ExceptionPolicyHandler {
  constructor(
    private readonly learnerMessages: LearnerMessagesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Handles what this chunk raised (sync_check, sync_member: the sync's temporary tables) that the
   * policy covers; the number of exceptions it handled.
   */
  async handleRaised(q: SqlRunner, em: EntityManager, certificationId: number, runId: number): Promise<number> {
    const row = await q.one<PolicyRow>(
      sql`select time_allowance_policy, duplicate_course_policy from certification where id = ${certificationId}`,
    );
    if (!row) return 0;
    const rules = policyRules({ timeAllowancePolicy: row.time_allowance_policy, duplicateCoursePolicy: row.duplicate_course_policy });
    if (rules.length === 0) return 0;
    await q.run(sql`create temp table sync_policy_handled (membership_id integer primary key, action text not null) on commit drop`);
    let handled = 0;
    for (const rule of rules) {
      handled += (await q.one<{ n: number }>(this.handleSql(rule, certificationId, runId)))?.n ?? 0;
    }
    if (handled > 0 && rules.some((rule) => rule.action === 'assign_realistic')) {
      await this.learnerMessages.writeDueWhere(
        em,
        sql`m.id = any(array(select membership_id from sync_policy_handled where action = 'assign_realistic'))`,
      );
    }
    return handled;
  }

  /**
   * One rule over the chunk's new exceptions of its type, as one statement: the exceptions, their
   * memberships (membershipChangeSql, as a bulk action changes them), one audit row each, and
   * sync_policy_handled for the messages; it returns how many it handled.
   */
  private handleSql({ type, action }: PolicyRule, certificationId: number, runId: number): Sql {
    const status = ACTION_STATUS[action];
    return sql`with raised as materialized (
        select e.id from sync_check k
          join sync_member sm on sm.learner_id = k.learner_id
          join exception e on e.membership_id = sm.id and e.status = 'open'
         where k.kind in ('new', 'recheck_not_assigned')
           and e.sync_run_id = ${runId}::bigint and e.certification_id = ${certificationId} and e.type = ${type}
      ), handled as (
        update exception e set status = ${status}, handled_at = now(), reason = ${POLICY_REASON}
          from membership m
         where e.id = any(array(select id from raised)) and e.status = 'open' and m.id = e.membership_id
        returning e.id, e.membership_id, m.due_at as due_before
      ), changed as (
        update membership m
           set ${membershipChangeSql(action, this.config.siteTimeZone)}
          from handled h, certification c
         where m.id = h.membership_id and c.id = m.certification_id
        returning h.id as exception_id, m.id, h.due_before, m.due_at as due_after
      ), audit as (
        insert into exception_audit (exception_id, membership_id, certification_id, bulk_action_id, action, reason, staff_id, by_policy,
                                     status_before, status_after, due_before, due_after)
        select changed.exception_id, changed.id, ${certificationId}, null, ${action}, ${POLICY_REASON}, null, true,
               'open', ${status}, changed.due_before, changed.due_after
          from changed
        returning membership_id
      ), recorded as (
        insert into sync_policy_handled (membership_id, action) select membership_id, ${action} from audit
        returning 1
      )
      select count(*)::int as n from recorded`;
  }
}
