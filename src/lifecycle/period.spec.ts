import { endOfDay, startOfDay } from '../common/time-zone';
import { addPeriod, describePeriod, periodIntervalSql, subtractPeriod } from './period';

const at = (iso: string) => new Date(iso);

describe('period arithmetic (as PostgreSQL adds intervals in UTC)', () => {
  it('adds days and weeks as exact 24-hour days', () => {
    expect(addPeriod(at('2027-01-30T10:15:00Z'), 3, 'day').toISOString()).toBe('2027-02-02T10:15:00.000Z');
    expect(addPeriod(at('2027-12-28T00:00:00Z'), 2, 'week').toISOString()).toBe('2028-01-11T00:00:00.000Z');
  });

  it('clamps a month end: 31 Jan + 1 month is 28 Feb, or 29 Feb in a leap year', () => {
    expect(addPeriod(at('2027-01-31T09:00:00Z'), 1, 'month').toISOString()).toBe('2027-02-28T09:00:00.000Z');
    expect(addPeriod(at('2028-01-31T09:00:00Z'), 1, 'month').toISOString()).toBe('2028-02-29T09:00:00.000Z');
    expect(addPeriod(at('2027-03-31T00:00:00Z'), 1, 'month').toISOString()).toBe('2027-04-30T00:00:00.000Z');
  });

  it('keeps the day where the month has it, across year ends', () => {
    expect(addPeriod(at('2027-11-15T12:00:00Z'), 3, 'month').toISOString()).toBe('2028-02-15T12:00:00.000Z');
    expect(addPeriod(at('2027-01-15T00:00:00Z'), 14, 'month').toISOString()).toBe('2028-03-15T00:00:00.000Z');
  });

  it('adds years as twelve months: 29 Feb + 1 year is 28 Feb', () => {
    expect(addPeriod(at('2028-02-29T00:00:00Z'), 1, 'year').toISOString()).toBe('2029-02-28T00:00:00.000Z');
    expect(addPeriod(at('2028-02-29T00:00:00Z'), 4, 'year').toISOString()).toBe('2032-02-29T00:00:00.000Z');
  });

  it('subtracts a window period with the same clamping', () => {
    expect(subtractPeriod(at('2027-03-31T08:00:00Z'), 1, 'month').toISOString()).toBe('2027-02-28T08:00:00.000Z');
    expect(subtractPeriod(at('2027-01-10T08:00:00Z'), 2, 'week').toISOString()).toBe('2026-12-27T08:00:00.000Z');
    expect(subtractPeriod(at('2027-01-10T08:00:00Z'), 0, 'month').toISOString()).toBe('2027-01-10T08:00:00.000Z');
  });

  it('refuses a fractional amount', () => {
    expect(() => addPeriod(at('2027-01-01T00:00:00Z'), 1.5, 'day')).toThrow(/whole number/);
  });

  it('describes a period in words and builds the matching SQL interval', () => {
    expect(describePeriod(1, 'month')).toBe('1 month');
    expect(describePeriod(3, 'week')).toBe('3 weeks');
    expect(periodIntervalSql('a', 'u')).toContain(`months => case when u = 'month' then a else 0 end`);
  });
});

describe('period arithmetic on the calendar of a time zone, across changes of clocks', () => {
  it('adds a day as a calendar day of 23 or 25 hours, keeping the wall-clock time', () => {
    // 12:00 GMT on 28 Mar + 1 day = 12:00 BST on 29 Mar (23 hours later).
    expect(addPeriod(at('2026-03-28T12:00:00Z'), 1, 'day', 'Europe/London').toISOString()).toBe('2026-03-29T11:00:00.000Z');
    expect(addPeriod(endOfDay('2026-03-28', 'Europe/London'), 1, 'day', 'Europe/London')).toEqual(endOfDay('2026-03-29', 'Europe/London'));
    expect(addPeriod(endOfDay('2026-10-24', 'Europe/London'), 1, 'day', 'Europe/London')).toEqual(endOfDay('2026-10-25', 'Europe/London'));
    // UTC arithmetic would land an hour off the end of the day.
    expect(addPeriod(endOfDay('2026-03-28', 'Europe/London'), 1, 'day').toISOString()).toBe('2026-03-29T23:59:59.999Z');
  });

  it('adds weeks and months to the end of a day in New York across 8 Mar and 1 Nov', () => {
    const ny = 'America/New_York';
    expect(addPeriod(endOfDay('2026-02-08', ny), 1, 'month', ny)).toEqual(endOfDay('2026-03-08', ny));
    expect(addPeriod(endOfDay('2026-03-01', ny), 1, 'week', ny)).toEqual(endOfDay('2026-03-08', ny));
    expect(addPeriod(endOfDay('2026-10-25', ny), 1, 'week', ny)).toEqual(endOfDay('2026-11-01', ny));
    expect(addPeriod(endOfDay('2025-11-01', ny), 1, 'year', ny).toISOString()).toBe('2026-11-02T04:59:59.999Z');
  });

  it('opens a window (expiry minus the window period) at the same wall-clock time in Sydney across 5 Apr and 4 Oct', () => {
    const syd = 'Australia/Sydney';
    expect(subtractPeriod(endOfDay('2026-10-10', syd), 1, 'week', syd)).toEqual(endOfDay('2026-10-03', syd));
    expect(subtractPeriod(endOfDay('2026-10-10', syd), 1, 'week', syd).toISOString()).toBe('2026-10-03T13:59:59.999Z');
    expect(subtractPeriod(startOfDay('2026-05-05', syd), 1, 'month', syd)).toEqual(startOfDay('2026-04-05', syd));
    expect(addPeriod(startOfDay('2025-04-05', syd), 1, 'year', syd).toISOString()).toBe('2026-04-04T13:00:00.000Z');
    expect(addPeriod(startOfDay('2026-09-04', syd), 1, 'month', syd).toISOString()).toBe('2026-10-03T14:00:00.000Z');
  });

  it('clamps month ends in the zone as in UTC', () => {
    const ny = 'America/New_York';
    expect(addPeriod(endOfDay('2027-01-31', ny), 1, 'month', ny)).toEqual(endOfDay('2027-02-28', ny));
    expect(addPeriod(endOfDay('2028-02-29', ny), 1, 'year', ny)).toEqual(endOfDay('2029-02-28', ny));
  });
});
