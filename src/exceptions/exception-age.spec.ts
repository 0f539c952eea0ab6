import { daysSince } from '../common/time-zone';
import { ageFilter, ageText, isAgeBucket } from './exception-age';

describe('the age of an exception', () => {
  // A day after London's clocks went forward: 30 March 2026 began at 23:00 UTC the day before.
  const now = new Date('2026-03-30T12:00:00Z');
  const zone = 'Europe/London';

  it('bounds each bucket by the starts of the reader’s days, across a change of clocks', () => {
    expect(ageFilter('today', zone, now)).toEqual({ bucket: 'today', raisedFrom: '2026-03-29T23:00:00.000Z', raisedBefore: null });
    expect(ageFilter('week', zone, now)).toEqual({
      bucket: 'week',
      raisedFrom: '2026-03-23T00:00:00.000Z',
      raisedBefore: '2026-03-29T23:00:00.000Z',
    });
    expect(ageFilter('month', zone, now)).toEqual({
      bucket: 'month',
      raisedFrom: '2026-02-28T00:00:00.000Z',
      raisedBefore: '2026-03-23T00:00:00.000Z',
    });
    expect(ageFilter('older', zone, now)).toEqual({ bucket: 'older', raisedFrom: null, raisedBefore: '2026-02-28T00:00:00.000Z' });
  });

  it('counts whole days on the reader’s calendar and says them as a person would', () => {
    expect(daysSince(new Date('2026-03-29T23:00:00Z'), now, zone)).toBe(0);
    expect(daysSince(new Date('2026-03-29T22:59:59Z'), now, zone)).toBe(1);
    expect(daysSince(new Date('2026-03-18T10:00:00Z'), now, zone)).toBe(12);
    expect(daysSince(new Date('2026-03-29T22:59:59Z'), now, 'UTC')).toBe(1);
    expect(daysSince(new Date('2026-03-29T23:00:00Z'), now, 'UTC')).toBe(1);
    expect([0, 1, 2, 12].map(ageText)).toEqual(['Today', 'Yesterday', '2 days ago', '12 days ago']);
  });

  it('knows only the four buckets', () => {
    expect(['today', 'week', 'month', 'older'].every(isAgeBucket)).toBe(true);
    for (const value of ['', 'Today', 'year', 7, null, undefined, ['week']]) expect(isAgeBucket(value)).toBe(false);
  });
});
