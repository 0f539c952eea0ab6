import { Sql, sql } from '../database/sql';
import { ACTION_STATUS, BulkActionName } from './exception-rules';
import { realisticDueSql } from './selection';

/**
 * What one of the four actions does to membership `m` of certification `c` (DOMAIN.md §4), as the
 * SET list of an UPDATE: its exception status, assigned now (Assign, a realistic due date, Dismiss),
 * the realistic due date, completion not recorded after a Dismiss. One definition for a person's
 * bulk action and for the certification's exception policy.
 */
export function membershipChangeSql(name: BulkActionName, siteZone: string): Sql {
  const assigns = name === 'assign' || name === 'assign_realistic' || name === 'dismiss';
  return sql`exception_status = ${ACTION_STATUS[name]},
             assigned_at = case when ${assigns} then now() else m.assigned_at end,
             due_at = case when ${name === 'assign_realistic'} then ${realisticDueSql(siteZone)} else m.due_at end,
             completion_recorded = case when ${name === 'dismiss'} then false else m.completion_recorded end`;
}

/**
 * Who handled exception `exception` as pages and reports name it: the person (`personName`); else,
 * for an action's status, which only the exception policy gives without a person, "By policy"; else,
 * once handled, membership sync ("Certex (automatic)"). Null while the exception is open.
 */
export function handledBySql(exception: string, personName: string): Sql {
  const actionStatuses = Object.values(ACTION_STATUS)
    .map((status) => `'${status}'`)
    .join(', ');
  return sql.raw(`coalesce(${personName}, case when ${exception}.handled_at is null then null
                    when ${exception}.status in (${actionStatuses}) then 'By policy' else 'Certex (automatic)' end)`);
}
