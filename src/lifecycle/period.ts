import { instantOf, wallClock } from '../common/time-zone';
import { Sql, sql } from '../database/sql';

/**
 * Adding "N days/weeks/months/years" to a moment on the wall clock of a time zone, the way
 * PostgreSQL adds an interval to a timestamp without time zone: months are added first and the day
 * is clamped to the end of the month (31 Jan + 1 month = 28 Feb, or 29 Feb in a leap year); a day
 * is a calendar day, 23 or 25 hours long across a change of clocks. The SQL builders below do the
 * same in the database, with the zone a bound parameter, so that a date shown by the app and a date
 * written by set-based SQL agree, whatever the database session's TimeZone setting.
 */
export type PeriodUnit = 'day' | 'week' | 'month' | 'year';

export const PERIOD_UNITS: readonly PeriodUnit[] = ['day', 'week', 'month', 'year'];

const DAY_MS = 24 * 60 * 60 * 1000;

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

/** Months added to a wall-clock reading (milliseconds of a UTC clock showing it). */
function addMonths(wall: number, months: number): number {
  const date = new Date(wall);
  const total = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(date.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(year, month, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds());
}

/** The moment `amount unit` after `date` on the zone's wall clock (UTC when no zone is given). */
export function addPeriod(date: Date, amount: number, unit: PeriodUnit, zone = 'UTC'): Date {
  if (!Number.isInteger(amount)) throw new Error(`period amount must be a whole number, not ${amount}`);
  const wall = wallClock(date, zone);
  switch (unit) {
    case 'day':
      return instantOf(wall + amount * DAY_MS, zone);
    case 'week':
      return instantOf(wall + amount * 7 * DAY_MS, zone);
    case 'month':
      return instantOf(addMonths(wall, amount), zone);
    case 'year':
      return instantOf(addMonths(wall, amount * 12), zone);
    default:
      throw new Error(`unknown period unit ${String(unit)}`);
  }
}

export function subtractPeriod(date: Date, amount: number, unit: PeriodUnit, zone = 'UTC'): Date {
  return addPeriod(date, -amount, unit, zone);
}

/** "3 months", "1 week". */
export function describePeriod(amount: number, unit: PeriodUnit): string {
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/**
 * SQL for the interval "amount unit", where both are trusted SQL expressions (columns or bound
 * values), e.g. periodIntervalSql('c.active_period_amount', 'c.active_period_unit').
 */
export function periodIntervalSql(amount: string, unit: string): string {
  return (
    `make_interval(years => case when ${unit} = 'year' then ${amount} else 0 end, ` +
    `months => case when ${unit} = 'month' then ${amount} else 0 end, ` +
    `weeks => case when ${unit} = 'week' then ${amount} else 0 end, ` +
    `days => case when ${unit} = 'day' then ${amount} else 0 end)`
  );
}

/**
 * SQL for timestamptz `moment` ± an interval on the zone's wall clock (as addPeriod does), `moment`
 * and `interval` being SQL. PostgreSQL would otherwise add days and months in the session's TimeZone.
 */
export function shiftSql(moment: Sql, interval: Sql, zone: string, sign: '+' | '-' = '+'): Sql {
  return sql`((${moment}) at time zone ${zone}::text ${sql.raw(sign)} ${interval}) at time zone ${zone}::text`;
}

/** SQL for timestamptz `moment` (trusted SQL text) ± the period, on the zone's wall clock. */
export function addPeriodSql(moment: string, amount: string, unit: string, zone: string, sign: '+' | '-' = '+'): Sql {
  return shiftSql(sql.raw(moment), sql.raw(periodIntervalSql(amount, unit)), zone, sign);
}

/** SQL for the last millisecond (the end) of a date, an SQL date expression, in the zone. */
export function endOfDaySql(date: Sql, zone: string): Sql {
  return sql`((((${date})::date + 1)::timestamp at time zone ${zone}::text) - interval '1 millisecond')`;
}

/** SQL for the first moment (00:00) of a date, an SQL date expression, in the zone. */
export function startOfDaySql(date: Sql, zone: string): Sql {
  return sql`(((${date})::date)::timestamp at time zone ${zone}::text)`;
}

/** SQL for the end of the day that is the period after a date column (trusted SQL text), in the zone. */
export function addPeriodToDateSql(date: string, amount: string, unit: string, zone: string): Sql {
  return endOfDaySql(sql.raw(`(${date}) + ${periodIntervalSql(amount, unit)}`), zone);
}

/** SQL for today's date in the zone. */
export function todaySql(zone: string): Sql {
  return sql`(now() at time zone ${zone}::text)::date`;
}

/**
 * SQL for the whole days from `now` to `due` on the zone's wall clock, rounded down (see
 * daysLeft in common/time-zone.ts): both are timestamptz SQL.
 */
export function daysLeftSql(due: Sql, now: Sql, zone: string): Sql {
  return sql`floor(extract(epoch from ((${due}) at time zone ${zone}::text - (${now}) at time zone ${zone}::text)) / 86400)::int`;
}
