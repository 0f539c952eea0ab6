/** The eight learner messages of a certification (DOMAIN.md §5), their names and defaults. */
export const MESSAGE_KINDS = [
  'enrolment',
  'unenrolment',
  'due_soon',
  'overdue',
  'certified',
  'window_open',
  'window_closing',
  'failed_to_recertify',
] as const;

export type MessageKind = (typeof MESSAGE_KINDS)[number];

export const MESSAGE_NAMES: Record<MessageKind, string> = {
  enrolment: 'Enrolment',
  unenrolment: 'Unenrolment',
  due_soon: 'Due soon',
  overdue: 'Overdue',
  certified: 'Certified',
  window_open: 'Recertification window open',
  window_closing: 'Window closing',
  failed_to_recertify: 'Failed to recertify',
};

/** When each message is sent, as the Messages tab explains it. */
export const MESSAGE_MOMENTS: Record<MessageKind, string> = {
  enrolment: 'When the learner is assigned to the certification.',
  unenrolment: 'When an assigned learner leaves the certification.',
  due_soon: 'The given number of days before the due date, while the learner is not certified.',
  overdue: 'When the due date has passed and the learner is not certified.',
  certified: 'When the learner becomes certified.',
  window_open: 'When the recertification window opens.',
  window_closing: 'The given number of days before the certification expires, while the window is open.',
  failed_to_recertify: 'When the certification expires without recertification.',
};

/** The messages with an offset in days, and what the offset counts back from. */
export const OFFSET_KINDS: Partial<Record<MessageKind, string>> = {
  due_soon: 'Days before the due date',
  window_closing: 'Days before expiry',
};

export interface MessageDefault {
  kind: MessageKind;
  subject: string;
  body: string;
  offset_days: number | null;
}

const SIGN_OFF = '\n\nYou can find the courses at {link}';

export const MESSAGE_DEFAULTS: MessageDefault[] = [
  {
    kind: 'enrolment',
    subject: 'You have been enrolled in {certification_name}',
    body:
      'Dear {learner_first_name},\n\nYou have been enrolled in the certification {certification_name}. Please complete it by {due_date}.' +
      SIGN_OFF,
    offset_days: null,
  },
  {
    kind: 'unenrolment',
    subject: 'You are no longer enrolled in {certification_name}',
    body: 'Dear {learner_first_name},\n\nYou are no longer enrolled in the certification {certification_name}. You do not need to do anything.',
    offset_days: null,
  },
  {
    kind: 'due_soon',
    subject: '{certification_name} is due on {due_date}',
    body:
      'Dear {learner_first_name},\n\nThe certification {certification_name} is due on {due_date}. Please complete it before then.' +
      SIGN_OFF,
    offset_days: 14,
  },
  {
    kind: 'overdue',
    subject: '{certification_name} is overdue',
    body:
      'Dear {learner_first_name},\n\nThe certification {certification_name} was due on {due_date} and is now overdue. Please complete it as soon as possible.' +
      SIGN_OFF,
    offset_days: null,
  },
  {
    kind: 'certified',
    subject: 'You are certified: {certification_name}',
    body: 'Dear {learner_first_name},\n\nCongratulations: you are certified in {certification_name}. Your certification expires on {expiry_date}.',
    offset_days: null,
  },
  {
    kind: 'window_open',
    subject: 'Time to recertify: {certification_name}',
    body:
      'Dear {learner_first_name},\n\nThe recertification window of {certification_name} is open. Please recertify before your certification expires on {expiry_date}.' +
      SIGN_OFF,
    offset_days: null,
  },
  {
    kind: 'window_closing',
    subject: '{certification_name} expires on {expiry_date}',
    body:
      'Dear {learner_first_name},\n\nYour certification {certification_name} expires on {expiry_date}. Please recertify before then.' +
      SIGN_OFF,
    offset_days: 7,
  },
  {
    kind: 'failed_to_recertify',
    subject: '{certification_name} has expired',
    body:
      'Dear {learner_first_name},\n\nYour certification {certification_name} expired on {expiry_date} because it was not renewed in time. Please complete the certification again.' +
      SIGN_OFF,
    offset_days: null,
  },
];

export function isMessageKind(value: unknown): value is MessageKind {
  return typeof value === 'string' && (MESSAGE_KINDS as readonly string[]).includes(value);
}
