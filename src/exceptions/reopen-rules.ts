import { Sql, sql } from '../database/sql';

/**
 * Why exception `e` (with its membership `m`) cannot be reopened, or null when it can (DOMAIN.md
 * §10). `source` is the bulk action whose exceptions are being reopened (`null::bigint` for none).
 * One expression for the confirmation page's preview and for the bulk action's chunks.
 */
export function reopenRefusalSql(source: Sql): Sql {
  return sql`case
    when e.status = 'open' then 'The exception is already open'
    when e.status not in ('assigned', 'assigned_realistic', 'not_assigned', 'dismissed')
      then 'The exception was resolved by membership sync and cannot be reopened'
    when m.removed_at is not null then 'The learner has left the certification'
    when m.state <> 'not_certified' or m.certified_at > e.handled_at then 'The learner has certified since'
    when m.exception_status <> e.status then 'The learner''s membership has changed since the exception was handled'
    when ${source} is not null and e.bulk_action_id is distinct from ${source} then 'The exception has been handled again since'
  end`;
}
