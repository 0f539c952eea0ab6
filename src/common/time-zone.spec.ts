import {
  addDays,
  canonicalTimeZone,
  daysLeft,
  endOfDay,
  instantOf,
  isListedTimeZone,
  isoWithOffset,
  localDate,
  offsetText,
  parseLocalDateTime,
  startOfDay,
  timeZoneNames,
  todayIn,
  toLocalDateTime,
  zoneLabel,
} from './time-zone';

const iso = (date: Date) => date.toISOString();
const HOUR = 3600 * 1000;
/** How long a local day is, in hours. */
const hoursIn = (date: string, zone: string) => (startOfDay(addDays(date, 1), zone).getTime() - startOfDay(date, zone).getTime()) / HOUR;

describe('the end of a day typed as a date, around changes of clocks', () => {
  it.each([
    // Europe/London: GMT → BST at 01:00 UTC on 29 Mar, BST → GMT at 01:00 UTC on 25 Oct 2026.
    ['Europe/London', '2026-03-28', '2026-03-28T23:59:59.999Z', 24],
    ['Europe/London', '2026-03-29', '2026-03-29T22:59:59.999Z', 23],
    ['Europe/London', '2026-10-24', '2026-10-24T22:59:59.999Z', 24],
    ['Europe/London', '2026-10-25', '2026-10-25T23:59:59.999Z', 25],
    // America/New_York: EST → EDT on 8 Mar, EDT → EST on 1 Nov 2026.
    ['America/New_York', '2026-03-07', '2026-03-08T04:59:59.999Z', 24],
    ['America/New_York', '2026-03-08', '2026-03-09T03:59:59.999Z', 23],
    ['America/New_York', '2026-10-31', '2026-11-01T03:59:59.999Z', 24],
    ['America/New_York', '2026-11-01', '2026-11-02T04:59:59.999Z', 25],
    // Australia/Sydney: AEDT → AEST on 5 Apr, AEST → AEDT on 4 Oct 2026.
    ['Australia/Sydney', '2026-04-04', '2026-04-04T12:59:59.999Z', 24],
    ['Australia/Sydney', '2026-04-05', '2026-04-05T13:59:59.999Z', 25],
    ['Australia/Sydney', '2026-10-03', '2026-10-03T13:59:59.999Z', 24],
    ['Australia/Sydney', '2026-10-04', '2026-10-04T12:59:59.999Z', 23],
  ])('%s %s ends at %s, a day of %i hours', (zone, date, end, hours) => {
    expect(iso(endOfDay(date, zone))).toBe(end);
    expect(localDate(endOfDay(date, zone), zone)).toBe(date);
    expect(localDate(new Date(endOfDay(date, zone).getTime() + 1), zone)).toBe(addDays(date, 1));
    expect(toLocalDateTime(endOfDay(date, zone), zone)).toBe(`${date}T23:59`);
    expect(hoursIn(date, zone)).toBe(hours);
  });

  it('is 23:59:59.999 UTC in UTC, and today is the zone’s today', () => {
    expect(iso(endOfDay('2027-03-31', 'UTC'))).toBe('2027-03-31T23:59:59.999Z');
    expect(iso(startOfDay('2027-03-31', 'UTC'))).toBe('2027-03-31T00:00:00.000Z');
    const at = new Date('2026-11-30T20:00:00Z');
    expect(todayIn('UTC', at)).toBe('2026-11-30');
    expect(todayIn('Asia/Kathmandu', at)).toBe('2026-12-01');
    expect(todayIn('Pacific/Pago_Pago', new Date('2026-12-01T05:00:00Z'))).toBe('2026-11-30');
  });

  it('starts a day whose midnight is skipped at the first moment after it', () => {
    // America/Santiago moves from 00:00 to 01:00 on 6 Sep 2026.
    expect(iso(startOfDay('2026-09-06', 'America/Santiago'))).toBe('2026-09-06T04:00:00.000Z');
    expect(iso(endOfDay('2026-09-05', 'America/Santiago'))).toBe('2026-09-06T03:59:59.999Z');
  });
});

describe('wall-clock times that a change of clocks skips or repeats (read as PostgreSQL reads them)', () => {
  it.each([
    ['Europe/London', '2026-03-29T01:30', '2026-03-29T01:30:00.000Z', '2026-03-29T02:30:00+01:00'],
    ['Europe/London', '2026-10-25T01:30', '2026-10-25T01:30:00.000Z', '2026-10-25T01:30:00+00:00'],
    ['America/New_York', '2026-03-08T02:30', '2026-03-08T07:30:00.000Z', '2026-03-08T03:30:00-04:00'],
    ['America/New_York', '2026-11-01T01:30', '2026-11-01T06:30:00.000Z', '2026-11-01T01:30:00-05:00'],
    ['Australia/Sydney', '2026-10-04T02:30', '2026-10-03T16:30:00.000Z', '2026-10-04T03:30:00+11:00'],
    ['Australia/Sydney', '2026-04-05T02:30', '2026-04-04T16:30:00.000Z', '2026-04-05T02:30:00+10:00'],
  ])('%s %s is %s (%s): the later reading', (zone, typed, instant, local) => {
    expect(iso(parseLocalDateTime(typed, zone)!)).toBe(instant);
    expect(isoWithOffset(parseLocalDateTime(typed, zone)!, zone)).toBe(local);
  });

  it('reads an ordinary time with the offset of its day', () => {
    expect(iso(parseLocalDateTime('2026-07-01T09:30', 'Europe/London')!)).toBe('2026-07-01T08:30:00.000Z');
    expect(iso(parseLocalDateTime('2026-07-01T09:30:15', 'Asia/Kathmandu')!)).toBe('2026-07-01T03:45:15.000Z');
    expect(iso(instantOf(Date.UTC(2026, 0, 15, 12), 'America/New_York'))).toBe('2026-01-15T17:00:00.000Z');
  });

  it.each(['2026-02-30T09:00', '2026-01-01T24:00', '2026-01-01 09:00', '2026-01-01', 'tomorrow'])('refuses %s', (typed) => {
    expect(parseLocalDateTime(typed, 'Europe/London')).toBeNull();
  });
});

describe('days left to a due date, counted in days of the zone', () => {
  it.each([
    // 23:30 GMT on 28 Mar: due at the end of 29 Mar, 23.5 hours away across the 23-hour day.
    ['Europe/London', '2026-03-28T23:30:00Z', '2026-03-29', 1],
    ['Europe/London', '2026-03-29T19:00:00Z', '2026-03-29', 0],
    ['Europe/London', '2026-03-29T23:00:00Z', '2026-03-29', -1],
    // 00:30 BST on 25 Oct: the end of 26 Oct is 2 days and 30 minutes away across the 25-hour day.
    ['Europe/London', '2026-10-24T23:30:00Z', '2026-10-26', 1],
    ['Europe/London', '2026-10-25T23:59:00Z', '2026-10-25', 0],
    // 23:30 EST on 7 Mar, then 00:30 EST on 8 Mar (the 23-hour day).
    ['America/New_York', '2026-03-08T04:30:00Z', '2026-03-08', 1],
    ['America/New_York', '2026-03-08T05:30:00Z', '2026-03-08', 0],
    ['America/New_York', '2026-03-08T05:30:00Z', '2026-03-09', 1],
    ['America/New_York', '2026-03-09T04:00:00Z', '2026-03-08', -1],
    ['America/New_York', '2026-11-01T04:30:00Z', '2026-11-02', 1],
    ['Australia/Sydney', '2026-04-03T13:30:00Z', '2026-04-05', 1],
    ['Australia/Sydney', '2026-10-03T13:30:00Z', '2026-10-04', 1],
    ['Australia/Sydney', '2026-10-04T13:00:00Z', '2026-10-04', -1],
  ])('in %s at %s, due %s: %i', (zone, now, due, left) => {
    expect(daysLeft(endOfDay(due, zone), new Date(now), zone)).toBe(left);
  });

  it('counts whole days rounded down for a due date that is not the end of a day, as before', () => {
    const now = new Date('2026-11-24T12:00:00Z');
    expect(daysLeft(new Date('2026-12-04T00:00:00Z'), now, 'UTC')).toBe(9);
    expect(daysLeft(new Date('2026-11-25T11:59:59Z'), now, 'UTC')).toBe(0);
  });
});

describe('zone names', () => {
  it('names a zone with its offset at the moment', () => {
    expect(zoneLabel('Asia/Kathmandu', new Date('2026-11-30T00:00:00Z'))).toBe('Asia/Kathmandu (UTC+05:45)');
    expect(zoneLabel('America/New_York', new Date('2026-07-01T00:00:00Z'))).toBe('America/New_York (UTC-04:00)');
    expect(zoneLabel('America/New_York', new Date('2026-12-01T00:00:00Z'))).toBe('America/New_York (UTC-05:00)');
    expect(zoneLabel('Europe/London', new Date('2026-12-01T00:00:00Z'))).toBe('Europe/London (UTC+00:00)');
    expect(offsetText(-570)).toBe('UTC-09:30');
  });

  it('lists UTC and the IANA zones, and accepts only those exactly as listed', () => {
    expect(timeZoneNames()).toContain('UTC');
    expect(timeZoneNames()).toContain('Asia/Kathmandu');
    expect(isListedTimeZone('Europe/London')).toBe(true);
    expect(isListedTimeZone('Asia/Katmandu')).toBe(false);
    for (const bad of ['europe/london', '', 'Mars/Olympus', '+05:00', 42, null]) expect(isListedTimeZone(bad)).toBe(false);
  });

  it('keeps a zone setting as the runtime spells it, refusing offsets and unknown names', () => {
    expect(canonicalTimeZone('europe/london')).toBe('Europe/London');
    expect(canonicalTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(canonicalTimeZone('asia/kathmandu')).toBe('Asia/Kathmandu');
    expect(canonicalTimeZone('US/Eastern')).toBe('US/Eastern');
    expect(canonicalTimeZone('+05:00')).toBeNull();
    expect(canonicalTimeZone('Mars/Olympus')).toBeNull();
  });
});
