import { addDays, startOfDay, todayIn } from '../common/time-zone';

/** The Exception report's age filter: whole days since an exception was raised, on the reader's calendar. */
export const AGE_BUCKETS = ['today', 'week', 'month', 'older'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];

export const AGE_LABELS: Record<AgeBucket, string> = {
  today: 'Raised today',
  week: '1 to 7 days ago',
  month: '8 to 30 days ago',
  older: 'More than 30 days ago',
};

/** The bucket as part of a sentence: "open exceptions raised 1 to 7 days ago". */
export const AGE_PHRASES: Record<AgeBucket, string> = {
  today: 'raised today',
  week: 'raised 1 to 7 days ago',
  month: 'raised 8 to 30 days ago',
  older: 'raised more than 30 days ago',
};

/** The oldest and newest age, in days, of each bucket (null: no limit). */
const AGE_DAYS: Record<AgeBucket, [number | null, number]> = {
  today: [0, 0],
  week: [7, 1],
  month: [30, 8],
  older: [null, 31],
};

/**
 * An age filter with the instants its days begin and end on the reader's calendar, as ISO strings:
 * a bulk action's selection keeps them, so the job applies what was confirmed even after midnight.
 */
export interface AgeFilter {
  bucket: AgeBucket;
  /** raised_at on or after this instant; null for no lower limit. */
  raisedFrom: string | null;
  /** raised_at before this instant; null for no upper limit. */
  raisedBefore: string | null;
}

export function isAgeBucket(value: unknown): value is AgeBucket {
  return typeof value === 'string' && (AGE_BUCKETS as readonly string[]).includes(value);
}

/** The bucket's raised_at limits as of `now` in the zone: a day of age is a calendar day there. */
export function ageFilter(bucket: AgeBucket, zone: string, now: Date = new Date()): AgeFilter {
  const today = todayIn(zone, now);
  const [oldest, newest] = AGE_DAYS[bucket];
  return {
    bucket,
    raisedFrom: oldest === null ? null : startOfDay(addDays(today, -oldest), zone).toISOString(),
    raisedBefore: newest === 0 ? null : startOfDay(addDays(today, 1 - newest), zone).toISOString(),
  };
}

/** "Today", "Yesterday", "12 days ago": how long ago an exception was raised, on the reader's calendar. */
export function ageText(days: number): string {
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  return `${days} days ago`;
}
