/**
 * Time zones: the site's (SITE_TIMEZONE) and each person's own choice. Moments are stored as
 * timestamptz (an instant); what a person reads or types is a wall-clock time in a zone.
 *
 * The rules, the same here and in the SQL builders of lifecycle/period.ts:
 * - A date typed as a due date means the END of that day in the site zone: the start of the
 *   next local day minus one millisecond (23:59:59.999 local, whatever the day's length).
 * - A date typed as a completion date means the START (00:00) of that day in the site zone.
 * - Adding days, weeks, months or years happens on the zone's wall clock (a day is a calendar
 *   day of 23, 24 or 25 hours), as PostgreSQL does for `(t at time zone z + interval) at time zone z`.
 * - A wall-clock time that does not exist (skipped by a spring-forward change) or exists twice
 *   (repeated by a fall-back change) is read as PostgreSQL reads it: the later of the two
 *   readings, so 02:30 on a skipped hour is 03:30 of the new offset.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The runtime (ICU) still lists some zones by names the IANA database has since replaced; the
 * list shows today's names (PostgreSQL and the runtime know both).
 */
const RENAMED: Record<string, string> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

/** UTC and every zone the runtime knows, by today's IANA names, in alphabetical order. */
let zoneList: readonly string[] | null = null;
export function timeZoneNames(): readonly string[] {
  zoneList ??= [...new Set(['UTC', ...Intl.supportedValuesOf('timeZone').map((zone) => RENAMED[zone] ?? zone)])].sort();
  return zoneList;
}

/** Whether `name` is one of the zones a person may choose (exactly as listed). */
export function isListedTimeZone(name: unknown): name is string {
  return typeof name === 'string' && timeZoneNames().includes(name);
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * An IANA zone name as Certex keeps it, or null when it is not one: spelt as the zone list spells
 * it when only the letter case differs (`europe/london` → `Europe/London`), else as given, so that
 * an alias such as US/Eastern stays as written. Offsets such as `+05:00` are refused: PostgreSQL
 * reads those as POSIX zones, with the sign the other way round.
 */
export function canonicalTimeZone(name: string): string | null {
  if (!ZONE_NAME.test(name) || name.length > 64) return null;
  try {
    const resolved = new Intl.DateTimeFormat('en-GB', { timeZone: name }).resolvedOptions().timeZone;
    const spelt = [RENAMED[resolved] ?? resolved, ...timeZoneNames()].find((zone) => zone.toLowerCase() === name.toLowerCase());
    return spelt ?? name;
  } catch {
    return null;
  }
}

const partsFormats = new Map<string, Intl.DateTimeFormat>();
function partsFormat(zone: string): Intl.DateTimeFormat {
  let format = partsFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    partsFormats.set(zone, format);
  }
  return format;
}

/** The zone's clock read by the runtime: Intl's parts of the instant, as ms of a UTC clock. */
function readWallClock(at: Date, zone: string): number {
  const parts: Record<string, number> = {};
  for (const part of partsFormat(zone).formatToParts(at)) {
    if (part.type !== 'literal' && part.type !== 'era') parts[part.type] = Number(part.value);
  }
  const ms = ((at.getTime() % 1000) + 1000) % 1000;
  return utc(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) + ms;
}

const QUARTER_HOUR = 15 * 60 * 1000;
const MAX_KEPT_OFFSETS = 100_000;
const offsetsByZone = new Map<string, Map<number, number>>();
let keptOffsets = 0;

/**
 * The zone's offset at an instant, in ms. A page of dates or a million-row download asks for it
 * row after row, and a zone's clock changes at most once in a quarter hour: the offset of a
 * quarter hour whose two ends agree is read once and remembered; any other is read each time.
 */
function offsetAt(time: number, zone: string): number {
  const start = Math.floor(time / QUARTER_HOUR) * QUARTER_HOUR;
  let offsets = offsetsByZone.get(zone);
  let offset = offsets?.get(start);
  if (offset !== undefined) return offset;
  const atStart = readWallClock(new Date(start), zone) - start;
  const end = start + QUARTER_HOUR - 1;
  if (readWallClock(new Date(end), zone) - end !== atStart) return readWallClock(new Date(time), zone) - time;
  if (keptOffsets >= MAX_KEPT_OFFSETS) {
    offsetsByZone.clear();
    keptOffsets = 0;
  }
  if (!offsets) offsetsByZone.set(zone, (offsets = new Map<number, number>()));
  offset = atStart;
  offsets.set(start, offset);
  keptOffsets++;
  return offset;
}

/**
 * The wall-clock reading of an instant in a zone, as milliseconds of a UTC clock showing the
 * same reading (so that calendar arithmetic can use the Date.UTC functions).
 */
export function wallClock(at: Date, zone: string): number {
  const time = at.getTime();
  return Number.isNaN(time) ? readWallClock(at, zone) : time + offsetAt(time, zone);
}

/** The zone's offset from UTC at an instant, in minutes (east positive: Asia/Kathmandu 345). */
export function offsetMinutes(zone: string, at: Date): number {
  return Math.round((wallClock(at, zone) - at.getTime()) / 60000);
}

/** The instant a wall-clock reading (as from wallClock) stands for in the zone; see the rule above. */
export function instantOf(wall: number, zone: string): Date {
  const before = offsetMinutes(zone, new Date(wall - DAY_MS)) * 60000;
  const after = offsetMinutes(zone, new Date(wall + DAY_MS)) * 60000;
  const readings = [wall - before, wall - after];
  const valid = readings.filter((t) => wallClock(new Date(t), zone) === wall);
  return new Date(Math.max(...(valid.length > 0 ? valid : readings)));
}

/** "UTC+05:45", "UTC-04:00", "UTC+00:00". */
export function offsetText(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** "Asia/Kathmandu (UTC+05:45)": the zone and its offset at that instant. */
export function zoneLabel(zone: string, at: Date = new Date()): string {
  return `${zone} (${offsetText(offsetMinutes(zone, at))})`;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Date.UTC, also for the years 0–99 (which Date.UTC reads as 1900–1999). */
function utc(year: number, monthIndex: number, day: number, hours = 0, minutes = 0, seconds = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hours, minutes, seconds, 0);
  return date.getTime();
}

function isoDateParts(date: string): [number, number, number] {
  const match = ISO_DATE.exec(date);
  if (!match) throw new RangeError(`not a date written YYYY-MM-DD: ${date}`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The calendar date (YYYY-MM-DD) of an instant in the zone. */
export function localDate(at: Date, zone: string): string {
  return new Date(wallClock(at, zone)).toISOString().slice(0, 10);
}

/** Today in the zone, YYYY-MM-DD. */
export function todayIn(zone: string, now: Date = new Date()): string {
  return localDate(now, zone);
}

/** The calendar date `days` after (or before) a YYYY-MM-DD date. */
export function addDays(date: string, days: number): string {
  const [y, m, d] = isoDateParts(date);
  return new Date(utc(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The first instant of a day in the zone (its 00:00, or the first moment after a skipped midnight). */
export function startOfDay(date: string, zone: string): Date {
  const [y, m, d] = isoDateParts(date);
  return instantOf(utc(y, m - 1, d), zone);
}

/** The last millisecond of a day in the zone: the start of the next day minus 1 ms. */
export function endOfDay(date: string, zone: string): Date {
  return new Date(startOfDay(addDays(date, 1), zone).getTime() - 1);
}

/**
 * Whole days from `now` to `dueAt` on the zone's wall clock, rounded down: 0 on the due day
 * itself when the due date is the end of a day, negative once it has passed. A day is a
 * calendar day, so a 23- or 25-hour day across a change of clocks counts as one.
 */
export function daysLeft(dueAt: Date, now: Date, zone: string): number {
  return Math.floor((wallClock(dueAt, zone) - wallClock(now, zone)) / DAY_MS);
}

/**
 * Whole calendar days from `at` to `now` on the zone's wall clock: 0 on the same local day, 1 the
 * day after, whatever the hours between them.
 */
export function daysSince(at: Date, now: Date, zone: string): number {
  return Math.floor(wallClock(now, zone) / DAY_MS) - Math.floor(wallClock(at, zone) / DAY_MS);
}

/** A datetime-local value (YYYY-MM-DDTHH:MM[:SS]) read in the zone, or null when it is not one. */
export function parseLocalDateTime(value: string, zone: string): Date | null {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!match) return null;
  const [y, m, d] = isoDateParts(match[1]);
  const [hours, minutes, seconds] = [Number(match[2]), Number(match[3]), Number(match[4] ?? 0)];
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  const wall = utc(y, m - 1, d, hours, minutes, seconds);
  if (new Date(wall).getUTCDate() !== d || new Date(wall).getUTCMonth() !== m - 1) return null;
  return instantOf(wall, zone);
}

/** An instant as a datetime-local value (YYYY-MM-DDTHH:MM) in the zone. */
export function toLocalDateTime(at: Date, zone: string): string {
  return new Date(wallClock(at, zone)).toISOString().slice(0, 16);
}

/** An instant as ISO 8601 local time with its offset: 2026-03-29T01:30:00+01:00. */
export function isoWithOffset(at: Date, zone: string): string {
  const wall = new Date(wallClock(at, zone)).toISOString().slice(0, 19);
  const offset = offsetText(offsetMinutes(zone, at)).slice(3);
  return wall + offset;
}
