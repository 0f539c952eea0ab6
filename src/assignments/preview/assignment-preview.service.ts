import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { sql, SqlRunner } from '../../database/sql';
import { alreadyAssigned, AssignmentService, dueRuleFields } from '../assignment.service';
import type { AssignmentInput, DueRuleInput } from '../assignments.dto';
import { MembershipSyncService } from '../sync/membership-sync.service';
import { CertificationPreview, readCertificationPreview } from './sync-preview';

/**
 * What saving an assignment would do, before it is saved: the change is made in a transaction
 * that membership sync then runs in, and rolled back (MembershipSyncService.preview). The checks
 * are those of saving, so that a preview is never shown for a change that Save would refuse.
 */
@Injectable()
export class AssignmentPreviewService {
  private readonly db: SqlRunner;

  constructor(
    em: EntityManager,
    private readonly sync: MembershipSyncService,
    private readonly assignments: AssignmentService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.db = new SqlRunner(em);
  }

  async previewAdd(certificationId: number, input: AssignmentInput, staffId: number): Promise<CertificationPreview[]> {
    const learnerId = await this.assignments.checkedLearnerId(input);
    const assigned = await this.db.one<{ id: number }>(sql`select id from assignment
       where certification_id = ${certificationId}
         and (learner_id = ${learnerId}::int or audience_id = ${input.audienceId}::int)`);
    const refusal = alreadyAssigned(input);
    if (assigned) throw refusal;
    const rule = dueRuleFields(input, this.config.siteTimeZone);
    return this.sync.preview(async (q) => {
      // Someone may save the same assignment between the check above and this insert.
      const inserted = await q.run(sql`insert into assignment (certification_id, kind, learner_id, audience_id, created_by,
                                              due_rule, due_fixed_at, due_amount, due_unit, due_event, due_course_id)
         values (${certificationId}, ${input.kind}, ${learnerId}::int, ${input.audienceId}::int, ${staffId},
                 ${rule.dueRule}, ${rule.dueFixedAt}::timestamptz, ${rule.dueAmount}::int, ${rule.dueUnit}::text,
                 ${rule.dueEvent}::text, ${rule.dueCourseId}::int)
         on conflict do nothing`);
      if (inserted === 0) throw refusal;
      return [certificationId];
    }, readCertificationPreview);
  }

  async previewDueRuleChange(certificationId: number, assignmentId: number, input: DueRuleInput): Promise<CertificationPreview[]> {
    await this.assignments.checkDueCourse(input);
    const rule = dueRuleFields(input, this.config.siteTimeZone);
    return this.sync.preview(async (q) => {
      const changed = await q.run(sql`update assignment
            set due_rule = ${rule.dueRule}, due_fixed_at = ${rule.dueFixedAt}::timestamptz, due_amount = ${rule.dueAmount}::int,
                due_unit = ${rule.dueUnit}::text, due_event = ${rule.dueEvent}::text, due_course_id = ${rule.dueCourseId}::int
          where id = ${assignmentId} and certification_id = ${certificationId}`);
      if (changed === 0) throw new NotFoundException();
      return [certificationId];
    }, readCertificationPreview);
  }
}
