import { formatDate } from './view-helpers';
import { wallClock } from './time-zone';

const ZONES = [
  'UTC',
  'Europe/London',
  'America/New_York',
  'America/St_Johns',
  'Asia/Kathmandu',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Africa/Monrovia',
  'Pacific/Apia',
];
const MINUTE = 60 * 1000;

/** What the runtime itself says, with no remembered offset or day text. */
const formats = new Map(
  ZONES.map((zone) => [zone, new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: zone })]),
);
function intlDate(at: Date, zone: string): string {
  return formats.get(zone)!.format(at);
}

describe('a date shown in a zone, read through remembered offsets and day texts', () => {
  it('agrees with the runtime at every minute around changes of clocks, and at instants across two centuries', () => {
    const instants: number[] = [];
    for (const around of [
      '2026-03-29T01:00:00Z',
      '2026-10-25T01:00:00Z',
      '2026-03-08T07:00:00Z',
      '2026-04-05T02:00:00Z',
      '2011-12-30T10:00:00Z',
    ]) {
      for (let m = -120; m <= 120; m++) instants.push(Date.parse(around) + m * MINUTE);
    }
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 3000; i++) instants.push(Date.parse('1900-01-01T00:00:00Z') + next() * 200 * 365.25 * 24 * 60 * MINUTE);

    const mismatches: string[] = [];
    for (const zone of ZONES) {
      for (const time of instants) {
        const at = new Date(time);
        if (formatDate(at, zone) !== intlDate(at, zone))
          mismatches.push(`${at.toISOString()} ${zone}: ${formatDate(at, zone)} ≠ ${intlDate(at, zone)}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('keeps the seconds of old local mean time offsets, and a change of clocks inside a quarter hour', () => {
    // Africa/Monrovia kept UTC−0:44:30 until 00:44:30 UTC on 7 January 1972, inside a quarter hour.
    const monrovia = (iso: string) => new Date(wallClock(new Date(iso), 'Africa/Monrovia')).toISOString();
    expect(monrovia('1960-06-01T12:00:00.123Z')).toBe('1960-06-01T11:15:30.123Z');
    expect(monrovia('1972-01-07T00:44:00Z')).toBe('1972-01-06T23:59:30.000Z');
    expect(monrovia('1972-01-07T00:44:40Z')).toBe('1972-01-07T00:44:40.000Z');
  });

  it('shows a YYYY-MM-DD text as that calendar date, whatever the zone', () => {
    expect(formatDate('2026-09-05', 'Pacific/Apia')).toBe(intlDate(new Date('2026-09-05T00:00:00Z'), 'UTC'));
    expect(formatDate(null, 'UTC')).toBe('');
    expect(formatDate('not a date', 'UTC')).toBe('');
  });
});
