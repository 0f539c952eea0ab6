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
