import { daysLeft } from '../common/time-zone';
import { formatDate } from '../common/view-helpers';

type Evidence = Record<string, unknown>;

function text(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function wholeNumber(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

function texts(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  const list = value.filter((v): v is string => typeof v === 'string' && v !== '');
  return list.length > 0 ? list : null;
}

function days(n: number): string {
  return `${n} ${n === 1 ? 'day' : 'days'}`;
}

function timeAllowance(evidence: Evidence, now: Date, zone: string): string | null {
  const due = typeof evidence.dueAt === 'string' || evidence.dueAt instanceof Date ? new Date(evidence.dueAt) : null;
  const minimum = wholeNumber(evidence.minimumDays);
  if (!due || Number.isNaN(due.getTime()) || minimum === null) return null;
  const left = daysLeft(due, now, zone);
  const when = left < 0 ? `overdue by ${days(-left)}` : `${days(left)} left`;
  const short = minimum - left;
  return `Due ${formatDate(due, zone)}: ${when}, ${minimum} needed${short > 0 ? ` (${short} short)` : ''}`;
}

function duplicateCourse(evidence: Evidence): string | null {
  const courses = texts(evidence.sharedCourseNames) ?? texts(evidence.sharedCourses);
  const other = text(evidence.otherCertificationName);
  if (!courses || !other) return null;
  return `Shares ${courses.join(', ')} with «${other}»`;
}

function completionTimeUnknown(evidence: Evidence): string | null {
  const rule = text(evidence.rule);
  const missing = text(evidence.missing);
  if (!rule || !missing) return null;
  return `${rule}: ${missing}`;
}

/**
 * The one line of evidence shown with an exception, worked out from its evidence when the page is
 * shown: the days left of a time allowance count from `now`, not from when the exception was
 * raised, in whole days of the reader's zone (the due date shown in it too). An unknown cause, or
 * evidence that does not hold what its type needs (an imported exception), is described by the
 * summary stored with it.
 */
export function describeEvidence(type: string, evidence: unknown, now: Date, storedSummary: string, zone: string): string {
  const fields: Evidence = evidence && typeof evidence === 'object' && !Array.isArray(evidence) ? (evidence as Evidence) : {};
  let line: string | null = null;
  if (type === 'time_allowance') line = timeAllowance(fields, now, zone);
  else if (type === 'duplicate_course') line = duplicateCourse(fields);
  else if (type === 'completion_time_unknown') line = completionTimeUnknown(fields);
  if (line) return line;
  const imported = text(fields.imported);
  return storedSummary || (imported ? `Imported: ${imported}` : '');
}
