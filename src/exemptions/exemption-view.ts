import { UrlBuilder } from '../common/url';
import { formatDate, formatDateTime } from '../common/view-helpers';
import type { ExemptionHistoryRow } from './exemptions.service';

/** A learner's active certification as the learner page lists it. */
interface ActiveCertification {
  id: number;
  full_name: string;
  exception_status: string;
}

/**
 * The learner page's exemptions: per active certification, the exemption in force (with End
 * exemption) or the way to start one; and every exemption with its start and end, newest first.
 */
export function learnerExemptionsView(
  learnerId: number,
  certifications: ActiveCertification[],
  history: ExemptionHistoryRow[],
  urls: UrlBuilder,
  zone: string,
) {
  const inForce = (certificationId: number) => history.find((x) => x.certification_id === certificationId && x.ended_at === null);
  return {
    exemptionCertifications: certifications.map((c) => {
      const exemption = c.exception_status === 'exempt' ? inForce(c.id) : undefined;
      return {
        name: c.full_name,
        exempt: Boolean(exemption),
        summary: exemption
          ? `Exempt since ${formatDate(exemption.started_at, zone)}${exemption.ends_at ? `, until ${formatDate(exemption.ends_at, zone)}` : ', no end date'}: ${exemption.reason}`
          : null,
        endAction: exemption ? urls.to('/learners/', learnerId, '/exemptions/', exemption.id, '/end') : null,
        endId: exemption ? `end-exemption-${exemption.id}` : null,
        startHref:
          c.exception_status === 'exempt' ? null : urls.withQuery(`/learners/${learnerId}/exemptions/new`, { certification: c.id }),
      };
    }),
    exemptionHistory: history.map((x) => ({
      certification: x.certification_name,
      started: `${formatDateTime(x.started_at, zone)} by ${x.started_by ?? 'Certex (automatic)'}`,
      reason: x.reason,
      endsOn: x.ends_at ? formatDate(x.ends_at, zone) : 'No end date',
      ended: endedText(x, zone),
    })),
  };
}

function endedText(x: ExemptionHistoryRow, zone: string): string {
  if (!x.ended_at) return 'In force';
  const how = x.end_cause === 'end_date' ? 'end date reached' : `ended by ${x.ended_by ?? 'an administrator'}`;
  const assigned = x.due_after
    ? `; assigned with realistic due date ${formatDate(x.due_after, zone)}`
    : '; no longer a member, not assigned';
  return `Exemption ended (${how}) on ${formatDateTime(x.ended_at, zone)}${assigned}`;
}
