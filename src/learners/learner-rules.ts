import { ValidateBy, ValidationOptions } from 'class-validator';
import { isIsoDate, todayIso } from './csv-upload';

/** The rules for a learner's fields, shared by the form and the CSV upload so both say the same. */
export const ID_NUMBER_PATTERN = /^[A-Za-z0-9._/-]+$/;
export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]+$/;
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const MESSAGES = {
  idNumberMissing: 'Enter an ID number',
  idNumberLength: 'ID number must be 100 characters or fewer',
  idNumberFormat: 'ID number can only contain letters, digits and . _ / -',
  usernameMissing: 'Enter a username',
  usernameLength: 'Username must be 100 characters or fewer',
  usernameFormat: 'Username can only contain letters, digits and . _ @ -',
  firstNameMissing: 'Enter a first name',
  firstNameLength: 'First name must be 100 characters or fewer',
  lastNameMissing: 'Enter a last name',
  lastNameLength: 'Last name must be 100 characters or fewer',
  emailMissing: 'Enter an email address',
  emailLength: 'Email address must be 254 characters or fewer',
  emailFormat: 'Enter an email address like name@example.org',
  hireDateFormat: 'Hire date must be a real date written YYYY-MM-DD, like 2024-03-31',
  suspendedFormat: 'Suspended must be yes or no',
};

/** The message for one learner field of a CSV row, or null when the value is good. */
export function learnerFieldProblem(column: string, value: string): string | null {
  switch (column) {
    case 'id_number':
      if (!value) return MESSAGES.idNumberMissing;
      if (value.length > 100) return MESSAGES.idNumberLength;
      return ID_NUMBER_PATTERN.test(value) ? null : MESSAGES.idNumberFormat;
    case 'username':
      if (!value) return MESSAGES.usernameMissing;
      if (value.length > 100) return MESSAGES.usernameLength;
      return USERNAME_PATTERN.test(value) ? null : MESSAGES.usernameFormat;
    case 'first_name':
      if (!value) return MESSAGES.firstNameMissing;
      return value.length > 100 ? MESSAGES.firstNameLength : null;
    case 'last_name':
      if (!value) return MESSAGES.lastNameMissing;
      return value.length > 100 ? MESSAGES.lastNameLength : null;
    case 'email':
      if (!value) return MESSAGES.emailMissing;
      if (value.length > 254) return MESSAGES.emailLength;
      return EMAIL_PATTERN.test(value) ? null : MESSAGES.emailFormat;
    case 'hire_date':
      return value === '' || isIsoDate(value) ? null : MESSAGES.hireDateFormat;
    case 'suspended':
      return value === '' || /^(yes|no)$/i.test(value) ? null : MESSAGES.suspendedFormat;
    default:
      return null;
  }
}

/** A YYYY-MM-DD date (a date input's value). */
export function IsIsoDate(options?: ValidationOptions) {
  return ValidateBy({ name: 'isIsoDate', validator: { validate: (value) => typeof value === 'string' && isIsoDate(value) } }, options);
}

/** A YYYY-MM-DD date that is today or earlier (UTC). */
export function NotFutureDate(options?: ValidationOptions) {
  return ValidateBy(
    { name: 'notFutureDate', validator: { validate: (value) => typeof value === 'string' && value <= todayIso() } },
    options,
  );
}

const DATE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** A datetime-local value (YYYY-MM-DDTHH:MM, read as UTC) as a Date, or null when it is not one. */
export function parseDateTimeLocal(value: string): Date | null {
  const match = DATE_TIME.exec(value);
  if (!match || !isIsoDate(match[1])) return null;
  const [hours, minutes, seconds] = [Number(match[2]), Number(match[3]), Number(match[4] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  return new Date(`${match[1]}T${match[2]}:${match[3]}:${String(seconds).padStart(2, '0')}Z`);
}

export function IsPastDateTime(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isPastDateTime',
      validator: {
        validate: (value) => {
          const date = typeof value === 'string' ? parseDateTimeLocal(value) : null;
          return date !== null && date.getTime() <= Date.now();
        },
      },
    },
    options,
  );
}

/** A Date as a datetime-local value in UTC. */
export function toDateTimeLocal(value: Date | string | null): string {
  if (!value) return '';
  return new Date(value).toISOString().slice(0, 16);
}
