import { Sql, sql, SqlRunner } from '../database/sql';
import { realisticDueSql } from '../exceptions/selection';

/** Who ends an exemption: a site administrator now, or its end date. */
export type ExemptionEnd = { cause: 'staff'; staffId: number } | { cause: 'end_date' };

export interface ExemptionStart {
  certificationId: number;
  reason: string;
  endsAt: Date | null;
  staffId: number;
}

/**
 * Exempts the certification's active members that `memberFilter` (a condition on membership m)
 * selects and that are not exempt already, in the caller's transaction: an exemption row each, the
 * membership not assigned and marked exempt, and an open exception closed as resolved with the
 * exemption's reason (it is not raised again while the learner is exempt).
 */
export async function startExemptions(q: SqlRunner, start: ExemptionStart, memberFilter: Sql) {
  const { certificationId: id, reason, endsAt, staffId } = start;
  const row = await q.one<{ exempted: number; closed: number }>(sql`with chosen as (
       select m.id, m.learner_id from membership m
        where m.certification_id = ${id} and m.removed_at is null and m.exception_status <> 'exempt' and ${memberFilter}
     ), started as (
       insert into exemption (certification_id, learner_id, reason, ends_at, started_by)
       select ${id}, c.learner_id, ${reason}, ${endsAt}::timestamptz, ${staffId} from chosen c
       on conflict (certification_id, learner_id) where ended_at is null do nothing
       returning learner_id
     ), exempted as (
       update membership m set exception_status = 'exempt', assigned_at = null
         from chosen c join started s on s.learner_id = c.learner_id
        where m.id = c.id
       returning m.id
     ), closed as (
       update exception e set status = 'resolved', handled_at = now(), handled_by = ${staffId}, reason = 'Exempted: ' || ${reason}
         from chosen c join started s on s.learner_id = c.learner_id
        where e.membership_id = c.id and e.status = 'open'
       returning e.id
     )
     select (select count(*)::int from exempted) as exempted, (select count(*)::int from closed) as closed`);
  return row!;
}

/**
 * Ends the exemptions in force that `exemptionFilter` (a condition on exemption x) selects, at most
 * `limit` of them, in the caller's transaction: each is closed (when, by whom or by its end date)
 * and the exempt membership, if the learner is still a member, is assigned now with the realistic
 * due date (never earlier than the due date it had), which the exemption keeps for its history.
 * Returns the memberships assigned, for their catch-up messages.
 */
export async function endExemptions(
  q: SqlRunner,
  end: ExemptionEnd,
  exemptionFilter: Sql,
  siteZone: string,
  limit: number,
): Promise<{ ended: number; membershipIds: number[] }> {
  const staffId = end.cause === 'staff' ? end.staffId : null;
  const rows = await q.rows<{ exemption_id: number; membership_id: number | null }>(sql`with due as materialized (
       select x.id as exemption_id, case when m.exception_status = 'exempt' then m.id end as membership_id,
              case when m.exception_status = 'exempt' then ${realisticDueSql(siteZone)} end as due_at
         from exemption x
         join certification c on c.id = x.certification_id
         -- One probe of the learner's active membership by its unique key, whatever the statistics
         -- say: right after a bulk exemption they know of no exempt membership, and a join on the
         -- exception status was planned as a scan of every exempt member for each exemption.
         left join lateral (
           select m.id, m.due_at, m.current_path, m.exception_status from membership m
            where m.certification_id = x.certification_id and m.learner_id = x.learner_id and m.removed_at is null
         ) m on true
        where x.ended_at is null and ${exemptionFilter}
        order by x.id
        limit ${limit}
        for update of x skip locked
     ), ended as (
       update exemption x set ended_at = now(), ended_by = ${staffId}::int, end_cause = ${end.cause}, due_after = d.due_at
         from due d where x.id = d.exemption_id
       returning x.id
     ), assigned as (
       update membership m set exception_status = 'none', assigned_at = now(), due_at = d.due_at
         from due d where m.id = d.membership_id
       returning m.id
     )
     select d.exemption_id, d.membership_id from due d`);
  return {
    ended: rows.length,
    membershipIds: rows.filter((r) => r.membership_id !== null).map((r) => Number(r.membership_id)),
  };
}

/**
 * Membership sync: a learner exempt from the certification raises no exception. Called between
 * the sync's checks and their application.
 */
export async function dropProblemsOfExemptLearners(q: SqlRunner, certificationId: number): Promise<void> {
  await q.run(sql`delete from sync_problem p using exemption x
     where x.certification_id = ${certificationId} and x.ended_at is null and x.learner_id = p.learner_id`);
}

/**
 * Membership sync: a learner exempted before joining (or rejoining) the certification joins
 * exempt, not assigned. Called once the chunk's members (sync_member) are known.
 */
export async function exemptNewMembersOfExemptLearners(q: SqlRunner, certificationId: number): Promise<void> {
  await q.run(sql`update membership m set exception_status = 'exempt', assigned_at = null
      from sync_member s
      join exemption x on x.certification_id = ${certificationId} and x.learner_id = s.learner_id and x.ended_at is null
     where m.id = s.id and m.exception_status <> 'exempt'`);
}
