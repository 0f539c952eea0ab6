import { ValidateBy, ValidationOptions } from 'class-validator';
import { parseLocalDateTime } from '../common/time-zone';
import { isIsoDate } from './csv-upload';

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
  firstLogin: 'First login must be a real date and time, not in the future, like 2024-03-31T09:30',
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

/** A datetime-local value (YYYY-MM-DDTHH:MM): the form only; the zone it is read in is the reader's. */
export function IsDateTimeLocal(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isDateTimeLocal',
      validator: { validate: (value) => typeof value === 'string' && parseLocalDateTime(value, 'UTC') !== null },
    },
    options,
  );
}
