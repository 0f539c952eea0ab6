import { Expose, Transform } from 'class-transformer';
import { IsNotEmpty, Matches, ValidateIf } from 'class-validator';
import { trimOrEmpty } from '../common/form-transforms';
import { FieldError, fieldError, MaxLength, validateForm } from '../common/forms';
import { MessageKind, OFFSET_KINDS } from './message-templates';
import { unknownPlaceholders } from './placeholders';

export const SUBJECT_MAX = 200;
export const BODY_MAX = 5000;

/** A message switched off may keep its texts: what was entered is still checked (length, one line); only "required" waits for On. */
const enabledOrEntered = (field: 'subject' | 'body') => (form: MessageTemplateForm) => form.enabled === 'yes' || form[field] !== '';

/** The edit form of one learner message. Subject and body are required only while it is switched on. */
export class MessageTemplateForm {
  @Expose()
  enabled: string;

  @Expose()
  @Transform(trimOrEmpty)
  @Matches(/^[^\r\n]*$/, { message: 'Subject must be on one line' })
  @MaxLength(SUBJECT_MAX, { message: `Subject must be ${SUBJECT_MAX} characters or fewer` })
  @ValidateIf(enabledOrEntered('subject'))
  @IsNotEmpty({ message: 'Enter a subject, or switch the message off' })
  subject: string;

  @Expose()
  @Transform(({ value }) => (typeof value === 'string' ? value.replace(/\r\n/g, '\n').trim() : ''))
  @MaxLength(BODY_MAX, { message: `Body must be ${BODY_MAX.toLocaleString('en-GB')} characters or fewer` })
  @ValidateIf(enabledOrEntered('body'))
  @IsNotEmpty({ message: 'Enter the body of the message, or switch the message off' })
  body: string;

  @Expose()
  @Transform(trimOrEmpty)
  offsetDays: string;
}

export interface MessageTemplateInput {
  enabled: boolean;
  subject: string;
  body: string;
  offsetDays: number | null;
}

/** Checks the form, the placeholders and, where the message has one, the offset (1–365 days). */
export function checkTemplateForm(
  kind: MessageKind,
  body: unknown,
): { ok: true; value: MessageTemplateInput } | { ok: false; errors: FieldError[] } {
  const form = validateForm(MessageTemplateForm, body);
  const errors: FieldError[] = form.ok ? [] : [...form.errors];
  const value = form.ok ? form.value : null;
  const posted = (body ?? {}) as Record<string, unknown>;
  const has = (field: string) => errors.some((e) => e.field === field);
  for (const field of ['subject', 'body'] as const) {
    const text = typeof posted[field] === 'string' ? posted[field] : '';
    const unknown = unknownPlaceholders(text);
    if (!has(field) && unknown.length > 0) {
      const label = field === 'subject' ? 'Subject' : 'Body';
      errors.push(
        fieldError(
          field,
          `${label} has ${unknown.length === 1 ? 'a placeholder that does not exist' : 'placeholders that do not exist'}: ${unknown.join(', ')}`,
        ),
      );
    }
  }
  let offsetDays: number | null = null;
  if (OFFSET_KINDS[kind]) {
    const raw = typeof posted.offsetDays === 'string' ? posted.offsetDays.trim() : '';
    if (raw === '') errors.push(fieldError('offsetDays', 'Enter the number of days, from 1 to 365'));
    else if (!/^\d{1,3}$/.test(raw) || Number(raw) < 1 || Number(raw) > 365)
      errors.push(fieldError('offsetDays', 'Days must be a whole number from 1 to 365'));
    else offsetDays = Number(raw);
  }
  if (errors.length > 0 || !value) {
    const order = ['enabled', 'subject', 'body', 'offsetDays'];
    return { ok: false, errors: errors.sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field)) };
  }
  return { ok: true, value: { enabled: value.enabled === 'yes', subject: value.subject, body: value.body, offsetDays } };
}
