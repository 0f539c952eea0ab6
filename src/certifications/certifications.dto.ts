import { Expose, Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, Matches } from 'class-validator';
import { trim, trimOrEmpty } from '../common/form-transforms';
import { FieldError, fieldError, FormResult, MaxLength, validateForm } from '../common/forms';
import { isPlainAddress } from '../notifications/mail-text';
import { DUPLICATE_COURSE_POLICIES, DuplicateCoursePolicy, TIME_ALLOWANCE_POLICIES, TimeAllowancePolicy } from './exception-policy';

export const PERIOD_UNITS = ['day', 'week', 'month', 'year'] as const;
export type PeriodUnit = (typeof PERIOD_UNITS)[number];
export const UNIT_LABELS: Record<PeriodUnit, string> = { day: 'Days', week: 'Weeks', month: 'Months', year: 'Years' };

export const RECERTIFICATION_BASES = ['completion', 'expiry'] as const;
export type RecertificationBase = (typeof RECERTIFICATION_BASES)[number];
export const BASE_LABELS: Record<RecertificationBase, string> = {
  completion: 'Completion date',
  expiry: 'Expiry date',
};

const WHOLE = /^\d{1,4}$/;

/** Extra recipients of a certification's exception notices, at most this many. */
export const NOTICE_RECIPIENTS_MAX = 20;

export class CertificationForm {
  @Expose()
  @Transform(trim)
  @MaxLength(255, { message: 'Full name must be 255 characters or fewer' })
  @IsNotEmpty({ message: 'Enter the full name' })
  fullName: string;

  @Expose()
  @Transform(trim)
  @MaxLength(100, { message: 'Short name must be 100 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a short name' })
  shortName: string;

  @Expose()
  @Transform(trim)
  @MaxLength(100, { message: 'ID number must be 100 characters or fewer' })
  idNumber: string;

  @Expose()
  @Transform(trimOrEmpty)
  @MaxLength(5000, { message: 'Summary must be 5,000 characters or fewer' })
  summary: string;

  @Expose()
  @Transform(trim)
  @Matches(/^0*[1-9]\d{0,3}$/, { message: 'Active period must be a whole number from 1 to 9999' })
  @IsNotEmpty({ message: 'Enter the active period, for example 1' })
  activePeriodAmount: string;

  @Expose()
  @IsIn(PERIOD_UNITS, { message: 'Choose days, weeks, months or years for the active period' })
  activePeriodUnit: PeriodUnit;

  @Expose()
  @Transform(trim)
  @Matches(WHOLE, { message: 'Window period must be a whole number from 0 to 9999' })
  @IsNotEmpty({ message: 'Enter the window period, for example 1' })
  windowPeriodAmount: string;

  @Expose()
  @IsIn(PERIOD_UNITS, { message: 'Choose days, weeks, months or years for the window period' })
  windowPeriodUnit: PeriodUnit;

  @Expose()
  @IsIn(RECERTIFICATION_BASES, { message: 'Choose the recertification date base' })
  recertificationBase: RecertificationBase;

  @Expose()
  @Transform(trim)
  @Matches(/^\d{1,3}$/, { message: 'Realistic due date buffer must be a whole number of days from 0 to 999' })
  @IsNotEmpty({ message: 'Enter the realistic due date buffer in days, for example 7' })
  realisticBufferDays: string;

  @Expose()
  @Transform(trimOrEmpty)
  @MaxLength(NOTICE_RECIPIENTS_MAX * 260, { message: `Enter at most ${NOTICE_RECIPIENTS_MAX} email addresses` })
  noticeRecipients: string;

  @Expose()
  @IsIn(TIME_ALLOWANCE_POLICIES, { message: 'Choose what happens when a time allowance exception is raised' })
  timeAllowancePolicy: TimeAllowancePolicy;

  @Expose()
  @IsIn(DUPLICATE_COURSE_POLICIES, { message: 'Choose what happens when a duplicate course exception is raised' })
  duplicateCoursePolicy: DuplicateCoursePolicy;
}

export interface CertificationInput {
  fullName: string;
  shortName: string;
  idNumber: string | null;
  summary: string;
  activePeriodAmount: number;
  activePeriodUnit: PeriodUnit;
  windowPeriodAmount: number;
  windowPeriodUnit: PeriodUnit;
  recertificationBase: RecertificationBase;
  realisticBufferDays: number;
  /** Who else gets the certification's exception notices (email addresses). */
  noticeRecipients: string[];
  timeAllowancePolicy: TimeAllowancePolicy;
  duplicateCoursePolicy: DuplicateCoursePolicy;
}

/** Length of a period counted from a fixed day (1 Jan 2001), so months and years compare fairly. */
export function periodDays(amount: number, unit: PeriodUnit): number {
  const start = Date.UTC(2001, 0, 1);
  const end = new Date(start);
  if (unit === 'day') end.setUTCDate(end.getUTCDate() + amount);
  if (unit === 'week') end.setUTCDate(end.getUTCDate() + 7 * amount);
  if (unit === 'month') end.setUTCMonth(end.getUTCMonth() + amount);
  if (unit === 'year') end.setUTCFullYear(end.getUTCFullYear() + amount);
  return Math.round((end.getTime() - start) / 86_400_000);
}

const FIELD_ORDER = [
  'fullName',
  'shortName',
  'idNumber',
  'summary',
  'activePeriodAmount',
  'activePeriodUnit',
  'windowPeriodAmount',
  'windowPeriodUnit',
  'recertificationBase',
  'realisticBufferDays',
  'noticeRecipients',
  'timeAllowancePolicy',
  'duplicateCoursePolicy',
];

/** The certification form: field checks, then the window period against the active period. */
export function checkCertificationForm(body: unknown): FormResult<CertificationInput> {
  const form = validateForm(CertificationForm, body);
  const errors: FieldError[] = form.ok ? [] : [...form.errors];
  const v = (form.ok ? form.value : (body ?? {})) as Record<string, unknown>;
  const failed = new Set(errors.map((e) => e.field));
  const periodsValid = ['activePeriodAmount', 'activePeriodUnit', 'windowPeriodAmount', 'windowPeriodUnit'].every((f) => !failed.has(f));
  if (periodsValid) {
    const active = periodDays(Number(v.activePeriodAmount), v.activePeriodUnit as PeriodUnit);
    const window = periodDays(Number(v.windowPeriodAmount), v.windowPeriodUnit as PeriodUnit);
    if (window >= active) errors.push(fieldError('windowPeriodAmount', 'Window period must be shorter than the active period'));
  }
  let recipients: string[] = [];
  if (!failed.has('noticeRecipients')) {
    const parsed = parseRecipients(typeof v.noticeRecipients === 'string' ? v.noticeRecipients : '');
    if (parsed.ok) recipients = parsed.addresses;
    else errors.push(fieldError('noticeRecipients', parsed.message));
  }
  if (errors.length > 0) {
    errors.sort((a, b) => FIELD_ORDER.indexOf(a.field) - FIELD_ORDER.indexOf(b.field));
    return { ok: false, errors, values: (body ?? {}) as Record<string, unknown> };
  }
  const f = form.ok ? form.value : (null as never);
  return {
    ok: true,
    value: {
      fullName: f.fullName,
      shortName: f.shortName,
      idNumber: f.idNumber ? f.idNumber : null,
      summary: f.summary ?? '',
      activePeriodAmount: Number(f.activePeriodAmount),
      activePeriodUnit: f.activePeriodUnit,
      windowPeriodAmount: Number(f.windowPeriodAmount),
      windowPeriodUnit: f.windowPeriodUnit,
      recertificationBase: f.recertificationBase,
      realisticBufferDays: Number(f.realisticBufferDays),
      noticeRecipients: recipients,
      timeAllowancePolicy: f.timeAllowancePolicy,
      duplicateCoursePolicy: f.duplicateCoursePolicy,
    },
  };
}

/**
 * Email addresses one per line or separated by commas (or semicolons), each one plain address;
 * repeats are kept once.
 */
export function parseRecipients(text: string): { ok: true; addresses: string[] } | { ok: false; message: string } {
  const addresses: string[] = [];
  const seen = new Set<string>();
  for (const part of text.split(/[\r\n,;]+/)) {
    const address = part.trim();
    if (address === '') continue;
    if (!isPlainAddress(address)) {
      const shown = [...address].length > 60 ? `${[...address].slice(0, 60).join('')}…` : address;
      return { ok: false, message: `“${shown}” is not an email address: enter addresses like name@example.org, one per line` };
    }
    if (seen.has(address.toLowerCase())) continue;
    seen.add(address.toLowerCase());
    addresses.push(address);
  }
  if (addresses.length > NOTICE_RECIPIENTS_MAX) {
    return { ok: false, message: `Enter at most ${NOTICE_RECIPIENTS_MAX} email addresses (you entered ${addresses.length})` };
  }
  return { ok: true, addresses };
}
