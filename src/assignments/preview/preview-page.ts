import type { CertificationPage } from '../../certifications/certifications.service';
import type { UrlBuilder } from '../../common/url';
import { formatNumber, plural } from '../../common/view-helpers';
import { describeEvidence } from '../../exceptions/evidence';
import { TYPE_LABELS } from '../../exceptions/exception-rules';
import { EXCEPTION_STATUS_LABELS } from '../../reports/report-states';
import { CertificationPreview, PREVIEW_LEARNERS_SHOWN, PreviewLearner } from './sync-preview';

/** The answers of the assignment form, by name: what a preview carries to Save and back to Change. */
const FORM_FIELDS = ['kind', 'learnerIdNumber', 'audienceId', 'dueRule', 'dueDate', 'dueAmount', 'dueUnit', 'dueEvent', 'dueCourseId'];
const DUE_RULE_FIELDS = ['dueRule', 'dueDate', 'dueAmount', 'dueUnit', 'dueEvent', 'dueCourseId'];

/** The form's answers from a Change link's query, over the form's defaults; only single text values are taken. */
export function formValuesFromQuery(query: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const values = { ...defaults };
  for (const name of FORM_FIELDS) {
    const value = query[name];
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}

/** The checked answers a preview was made from, to post to Save and to put back in the form with Change. */
export function submittedFields(form: object, whoFields: string[]): Record<string, string> {
  const values = form as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const name of [...whoFields, ...DUE_RULE_FIELDS]) {
    const value = values[name];
    if (typeof value === 'string' && value !== '') fields[name] = value;
  }
  return fields;
}

export interface PreviewPageInput {
  page: CertificationPage;
  heading: string;
  proposed: Array<{ key: string; value: string }>;
  outcome: CertificationPreview[];
  fields: Record<string, string>;
  saveAction: string;
  saveLabel: string;
  changeHref: string;
  backHref: string;
  urls: UrlBuilder;
  zone: string;
}

/** The preview page's view-model (views/certifications/assignment-preview.hbs). */
export function previewPageModel(input: PreviewPageInput): Record<string, unknown> {
  const { direct, knockOn } = previewSections(input.outcome, input.urls, input.zone);
  return {
    title: input.page.title(false, input.heading),
    tabs: input.page.tabs,
    certificationName: input.page.certification.fullName,
    heading: input.heading,
    proposed: input.proposed,
    own: direct[0] ?? null,
    others: knockOn,
    hiddenFields: Object.entries(input.fields).map(([name, value]) => ({ name, value })),
    saveAction: input.saveAction,
    saveLabel: input.saveLabel,
    changeHref: input.changeHref,
    backHref: input.backHref,
  };
}

/**
 * The sections of a preview page (views/partials/sync-preview.hbs): the certifications the change
 * itself reaches, and those synced next because they share a course with one whose learners moved.
 */
export function previewSections(outcome: CertificationPreview[], urls: UrlBuilder, zone: string) {
  const now = new Date();
  const model = (preview: CertificationPreview) => certificationModel(preview, urls, zone, now);
  return { direct: outcome.filter((p) => !p.knockOn).map(model), knockOn: outcome.filter((p) => p.knockOn).map(model) };
}

function learnerCells(learner: PreviewLearner, urls: UrlBuilder) {
  return { name: `${learner.firstName} ${learner.lastName}`, href: urls.to('/learners/', learner.learnerId), idNumber: learner.idNumber };
}

/** "3 learners", or "12 learners, the first 10 by name" where the list is cut. */
function shownOf(count: number): string {
  return count > PREVIEW_LEARNERS_SHOWN
    ? `${plural(count, 'learner')}, the first ${PREVIEW_LEARNERS_SHOWN} by name`
    : plural(count, 'learner');
}

function certificationModel(preview: CertificationPreview, urls: UrlBuilder, zone: string, now: Date) {
  const raisedTotal = preview.raised.reduce((sum, r) => sum + r.count, 0);
  return {
    name: preview.certificationName,
    href: urls.to('/certifications/', preview.certificationId, '/exceptions'),
    headingId: `certification-${preview.certificationId}`,
    counts: [
      { key: 'Learners added', value: formatNumber(preview.added) },
      { key: 'Learners removed', value: formatNumber(preview.removed) },
      { key: 'Due dates made later', value: formatNumber(preview.dueDatesLater) },
      { key: 'Exceptions raised', value: formatNumber(raisedTotal) },
      ...(preview.handledByPolicy > 0
        ? [{ key: 'Handled at once by the exception policy', value: formatNumber(preview.handledByPolicy) }]
        : []),
      { key: 'Open exceptions resolved', value: formatNumber(preview.resolved) },
      { key: 'Open exceptions changed', value: formatNumber(preview.updated) },
    ],
    changesNothing: preview.added + preview.removed + preview.dueDatesLater + raisedTotal + preview.resolved + preview.updated === 0,
    raised: preview.raised.map((group) => ({
      id: `raised-${preview.certificationId}-${group.type}`,
      caption: `${TYPE_LABELS[group.type]}: ${shownOf(group.count)}`,
      learners: group.learners.map((learner) => ({
        ...learnerCells(learner, urls),
        why:
          describeEvidence(learner.type, learner.evidence, now, learner.summary, zone) +
          (learner.status === 'open' ? '' : `; handled at once by the exception policy: ${EXCEPTION_STATUS_LABELS[learner.status]}`),
      })),
    })),
    removedLearners:
      preview.removedLearners.length > 0
        ? {
            caption: `Removed: ${shownOf(preview.removed)}`,
            rows: preview.removedLearners.map((learner) => learnerCells(learner, urls)),
          }
        : null,
  };
}
