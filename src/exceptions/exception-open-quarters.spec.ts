import { offsetMinutes, timeZoneNames } from '../common/time-zone';
import { AGE_BUCKETS, ageFilter } from './exception-age';

const QUARTER_HOUR_MS = 15 * 60 * 1000;

/**
 * The Exceptions overview counts exceptions by age from counts kept per quarter hour (UTC): that
 * is exact only if every day of every zone a reader may choose starts on a quarter hour.
 */
describe('the days of every time zone start on a quarter hour', () => {
  // A day starts at midnight, or at a change of clocks that skips midnight, which happens on the
  // hour or half hour of the clock before it: on a quarter hour whenever the zone's offsets are.
  it('for every listed zone, every offset from its clocks of the last month and the next year is a whole number of quarter hours', () => {
    const off: string[] = [];
    const now = Date.now();
    for (const zone of timeZoneNames()) {
      for (let hours = -31 * 24; hours <= 366 * 24; hours += 24) {
        const minutes = offsetMinutes(zone, new Date(now + hours * 3600 * 1000));
        if (minutes % 15 !== 0) off.push(`${zone}: UTC${minutes >= 0 ? '+' : ''}${minutes} minutes`);
      }
    }
    expect([...new Set(off)]).toEqual([]);
  });

  it('so the age filter’s limits are quarter hours in every listed zone', () => {
    for (const zone of timeZoneNames()) {
      for (const bucket of AGE_BUCKETS) {
        const { raisedFrom, raisedBefore } = ageFilter(bucket, zone);
        for (const limit of [raisedFrom, raisedBefore]) if (limit) expect(Date.parse(limit) % QUARTER_HOUR_MS).toBe(0);
      }
    }
  });
});
