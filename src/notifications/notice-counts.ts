import { sql, SqlRunner } from '../database/sql';

/** What happened to the exceptions raised since the last notice. */
export interface RaisedSinceNotice {
  raised: number;
  /** Handled at once by the certification's exception policy (their last action was the policy's). */
  byPolicy: number;
  /** Still open. */
  needAttention: number;
  /** The newest of them: the next notice counts from after it. */
  lastId: string | null;
}

/** The exceptions of a certification raised after `toldThrough`, counted by what became of them. */
export async function raisedSinceNotice(db: SqlRunner, certificationId: number, toldThrough: number): Promise<RaisedSinceNotice> {
  const row = await db.one<{ raised: number; by_policy: number; open: number; last: string | null }>(sql`
    select count(*)::int as raised,
           (count(*) filter (where e.status <> 'open' and coalesce((select a.by_policy from exception_audit a
                                                                   where a.exception_id = e.id order by a.id desc limit 1), false)))::int as by_policy,
           (count(*) filter (where e.status = 'open'))::int as open,
           max(e.id)::text as last
      from exception e where e.certification_id = ${certificationId} and e.id > ${toldThrough}`);
  return { raised: row?.raised ?? 0, byPolicy: row?.by_policy ?? 0, needAttention: row?.open ?? 0, lastId: row?.last ?? null };
}

/** "12 raised, 9 handled by policy, 3 need attention" (and those handled or resolved since, when there are any). */
export function raisedSinceNoticeLine(counts: RaisedSinceNotice): string {
  const n = (value: number) => value.toLocaleString('en-GB');
  const parts = [`${n(counts.raised)} raised`, `${n(counts.byPolicy)} handled by policy`];
  const since = counts.raised - counts.byPolicy - counts.needAttention;
  if (since > 0) parts.push(`${n(since)} already handled or resolved`);
  parts.push(`${n(counts.needAttention)} ${counts.needAttention === 1 ? 'needs' : 'need'} attention`);
  return parts.join(', ');
}
