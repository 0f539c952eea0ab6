import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { formatNumber, plural } from '../common/view-helpers';
import { inTransaction, sql, SqlRunner } from '../database/sql';
import { JobRequests } from '../jobs/job-requests.service';
import { MembershipSyncService } from '../assignments/sync/membership-sync.service';
import { CertificationPreview, readCertificationPreview } from '../assignments/preview/sync-preview';

export interface PendingUpload {
  fileRows: number;
  /** Learners of the file not yet in the audience. */
  newMembers: number;
}

const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A checked audience member upload between its preview and its Save. A pending upload is found by
 * its token together with the audience and the administrator who uploaded it, and only before it
 * expires: a token seen by anyone else names nothing.
 */
@Injectable()
export class MemberUploadService {
  private readonly db: SqlRunner;

  constructor(
    private readonly em: EntityManager,
    private readonly sync: MembershipSyncService,
    private readonly jobs: JobRequests,
  ) {
    this.db = new SqlRunner(em);
  }

  /** The pending upload, or null when there is none of this administrator's for this audience (or it expired). */
  async pending(audienceId: number, token: string, staffId: number): Promise<PendingUpload | null> {
    if (!TOKEN.test(token)) return null;
    const row = await this.db.one<PendingUpload>(sql`select p.file_rows as "fileRows",
            (select count(*) from pending_member_upload_learner pl
              where pl.token = p.token
                and not exists (select 1 from audience_member am where am.audience_id = p.audience_id and am.learner_id = pl.learner_id)
            )::int as "newMembers"
       from pending_member_upload p
      where p.token = ${token}::uuid and p.audience_id = ${audienceId} and p.staff_id = ${staffId} and p.expires_at > now()`);
    return row ?? null;
  }

  /** What membership sync would do once these members are in: every certification assigning the audience, by the sync's own rules. */
  preview(audienceId: number, token: string): Promise<CertificationPreview[]> {
    return this.sync.preview(async (q) => {
      await q.run(sql`insert into audience_member (audience_id, learner_id)
           select ${audienceId}, learner_id from pending_member_upload_learner where token = ${token}::uuid
           on conflict do nothing`);
      const rows = await q.rows<{ id: number }>(sql`select distinct certification_id as id from assignment
           where kind = 'audience' and audience_id = ${audienceId} order by 1`);
      return rows.map((r) => r.id);
    }, readCertificationPreview);
  }

  /**
   * Adds the pending upload's learners to the audience and asks for a sync, as an upload did before
   * previews; the pending rows go (cascading to their learners) in the same transaction, so a second Save finds nothing. Null
   * when there is no such pending upload (saved already, expired, or someone else's).
   */
  async save(audienceId: number, token: string, staffId: number): Promise<string | null> {
    if (!TOKEN.test(token)) return null;
    const result = await inTransaction(this.em, async (db) => {
      // Locked, so that a second Save of the same upload waits, then finds it gone.
      const pending = await db.one<{ fileRows: number }>(sql`select file_rows as "fileRows" from pending_member_upload
          where token = ${token}::uuid and audience_id = ${audienceId} and staff_id = ${staffId} and expires_at > now()
          for update`);
      if (!pending) return null;
      const [added] = await db.rows<{ count: number }>(sql`with inserted as (
           insert into audience_member (audience_id, learner_id)
           select ${audienceId}, learner_id from pending_member_upload_learner where token = ${token}::uuid
           on conflict do nothing
           returning 1)
         select count(*)::int as count from inserted`);
      await db.run(sql`delete from pending_member_upload where token = ${token}::uuid`);
      return { rows: pending.fileRows, added: added.count };
    });
    if (!result) return null;
    if (result.added > 0) await this.jobs.requestSync(null, 'audience members uploaded');
    const already = result.rows - result.added;
    return `${plural(result.added, 'member')} added, ${formatNumber(already)} already ${already === 1 ? 'was a member' : 'were members'}`;
  }
}
