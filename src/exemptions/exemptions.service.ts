import { Inject, Injectable } from '@nestjs/common';
import { CreateRequestContext, EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { FieldError, fieldError } from '../common/forms';
import { endOfDay, todayIn } from '../common/time-zone';
import { inTransaction, sql, SqlRunner } from '../database/sql';
import { lockCertification } from '../database/locks';
import { isIsoDate } from '../learners/csv-upload';
import { LearnerMessagesService } from '../notifications/learner-messages.service';
import { completionFilterSql } from '../reports/completion-report.service';
import type { ReportState } from '../reports/report-states';
import { endExemptions, startExemptions } from './exemption-sql';
import type { ExemptionEndCause } from './exemption.entity';

export const MAX_EXEMPTION_REASON = 1000;

/** Exemptions ended per transaction by the scheduled end (each with its catch-up messages). */
const END_CHUNK = 1000;

/** An exemption form's answers as typed: a reason and an optional end date (YYYY-MM-DD). */
export interface ExemptionAnswers {
  reason: string;
  endsOn: string;
}

export interface CheckedExemption {
  reason: string;
  /** The end of the typed day in the site's time zone. */
  endsAt: Date | null;
}

/** The Completion report's filter a bulk exemption acts on. */
export interface MemberFilter {
  q: string;
  state: ReportState | null;
}

export interface ExemptionHistoryRow {
  id: number;
  certification_id: number;
  certification_name: string;
  reason: string;
  ends_at: Date | null;
  started_at: Date;
  started_by: string | null;
  ended_at: Date | null;
  ended_by: string | null;
  end_cause: ExemptionEndCause | null;
  due_after: Date | null;
}

export interface EndDueResult {
  ended: number;
  assigned: number;
  messages: number;
}

/** The form's answers read from a posted body or a query string, trimmed. */
export function exemptionAnswers(input: Record<string, unknown>): ExemptionAnswers {
  const text = (value: unknown) => (typeof value === 'string' ? value.trim() : '');
  return { reason: text(input.reason), endsOn: text(input.endsOn) };
}

/**
 * Checks an exemption form: a reason is needed; an end date, when given, is a real date, today or
 * later on the site's calendar, and means the end of that day there.
 */
export function checkExemption(
  answers: ExemptionAnswers,
  siteZone: string,
  now: Date = new Date(),
): { ok: true; value: CheckedExemption } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!answers.reason) errors.push(fieldError('reason', 'Enter the reason for the exemption'));
  else if ([...answers.reason].length > MAX_EXEMPTION_REASON) {
    errors.push(fieldError('reason', `Reason must be ${MAX_EXEMPTION_REASON} characters or fewer`));
  }
  let endsAt: Date | null = null;
  if (answers.endsOn) {
    if (!isIsoDate(answers.endsOn)) errors.push(fieldError('endsOn', 'Enter the end date as a real date, for example 2027-03-31'));
    else if (answers.endsOn < todayIn(siteZone, now)) errors.push(fieldError('endsOn', 'The end date must be today or later'));
    else endsAt = endOfDay(answers.endsOn, siteZone);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { reason: answers.reason, endsAt } };
}

/**
 * Exemptions (DOMAIN.md §10): a learner exempted from a certification is not assigned (no messages,
 * no lifecycle steps, no exceptions) and shows as Exempt; when the exemption ends, by its end date
 * or by an administrator, the learner is assigned with a realistic due date and gets the messages
 * an assigned learner would have had by now.
 */
@Injectable()
export class ExemptionsService {
  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly messages: LearnerMessagesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whether the learner is an active member of the certification, and whether exempt. */
  async membership(learnerId: number, certificationId: number): Promise<{ exempt: boolean } | null> {
    const row = await new SqlRunner(this.em).one<{ exception_status: string }>(
      sql`select exception_status from membership
           where certification_id = ${certificationId} and learner_id = ${learnerId} and removed_at is null`,
    );
    return row ? { exempt: row.exception_status === 'exempt' } : null;
  }

  /** Exempts one learner; false when they were exempt already (or left meanwhile). */
  async exemptLearner(learnerId: number, certificationId: number, exemption: CheckedExemption, staffId: number): Promise<boolean> {
    return inTransaction(this.em.fork(), async (q) => {
      await lockCertification(q, certificationId);
      const result = await startExemptions(q, { certificationId, ...exemption, staffId }, sql`m.learner_id = ${learnerId}`);
      return result.exempted > 0;
    });
  }

  /** Members a Completion report filter selects who are not exempt yet. */
  async countExemptable(certificationId: number, filter: MemberFilter): Promise<number> {
    const row = await new SqlRunner(this.em).one<{ n: number }>(
      sql`select count(*)::int as n from membership m
           where ${completionFilterSql(certificationId, filter)} and m.exception_status <> 'exempt'`,
    );
    return row?.n ?? 0;
  }

  /** Exempts every member the filter selects, set-based in one transaction; how many were exempted. */
  async exemptMatching(certificationId: number, filter: MemberFilter, exemption: CheckedExemption, staffId: number): Promise<number> {
    return inTransaction(this.em.fork(), async (q) => {
      await lockCertification(q, certificationId);
      const result = await startExemptions(q, { certificationId, ...exemption, staffId }, completionFilterSql(certificationId, filter));
      return result.exempted;
    });
  }

  /** Ends one of the learner's exemptions now; false when it is not theirs or already ended. */
  async endNow(learnerId: number, exemptionId: number, staffId: number): Promise<boolean> {
    const found = await new SqlRunner(this.em).one<{ certification_id: number }>(
      sql`select certification_id from exemption where id = ${exemptionId} and learner_id = ${learnerId} and ended_at is null`,
    );
    if (!found) return false;
    return inTransaction(this.em.fork(), async (q, em) => {
      await lockCertification(q, found.certification_id);
      const result = await endExemptions(
        q,
        { cause: 'staff', staffId },
        sql`x.id = ${exemptionId} and x.learner_id = ${learnerId}`,
        this.config.siteTimeZone,
        1,
      );
      await this.messages.writeDueFor(em, result.membershipIds);
      return result.ended > 0;
    });
  }

  /**
   * The scheduled end: every exemption whose end date has passed by `now` ends, certification by
   * certification under its lock, a chunk of exemptions per transaction with its messages. A run
   * that is repeated finds nothing left to end.
   */
  @CreateRequestContext()
  async endDue(now: Date = new Date()): Promise<EndDueResult> {
    const result: EndDueResult = { ended: 0, assigned: 0, messages: 0 };
    const certifications = await new SqlRunner(this.em).rows<{ certification_id: number }>(
      sql`select distinct certification_id from exemption where ended_at is null and ends_at <= ${now}::timestamptz`,
    );
    for (const { certification_id: id } of certifications) {
      for (;;) {
        const chunk = await inTransaction(this.em.fork(), async (q, em) => {
          await lockCertification(q, id);
          const ended = await endExemptions(
            q,
            { cause: 'end_date' },
            sql`x.certification_id = ${id} and x.ends_at <= ${now}::timestamptz`,
            this.config.siteTimeZone,
            END_CHUNK,
          );
          const messages = await this.messages.writeDueFor(em, ended.membershipIds, now);
          return { ...ended, messages };
        });
        result.ended += chunk.ended;
        result.assigned += chunk.membershipIds.length;
        result.messages += chunk.messages;
        if (chunk.ended < END_CHUNK) break;
      }
    }
    return result;
  }

  /** Every exemption of a learner, newest first, with who started and ended it. */
  history(learnerId: number): Promise<ExemptionHistoryRow[]> {
    return new SqlRunner(this.em).rows<ExemptionHistoryRow>(
      sql`select x.id, x.certification_id, c.full_name as certification_name, x.reason, x.ends_at, x.started_at,
                 s.display_name as started_by, x.ended_at, e.display_name as ended_by, x.end_cause, x.due_after
            from exemption x
            join certification c on c.id = x.certification_id
            left join staff s on s.id = x.started_by
            left join staff e on e.id = x.ended_by
           where x.learner_id = ${learnerId}
           order by x.started_at desc, x.id desc`,
    );
  }
}
