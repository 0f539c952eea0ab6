/**
 * Adding "N days/weeks/months/years" to a moment, the way PostgreSQL adds an interval to a
 * timestamp in UTC: months are added first and the day is clamped to the end of the month
 * (31 Jan + 1 month = 28 Feb, or 29 Feb in a leap year). The SQL builders below do the same in
 * the database, so that a date shown by the app and a date written by set-based SQL agree.
 */
export type PeriodUnit = 'day' | 'week' | 'month' | 'year';

export const PERIOD_UNITS: readonly PeriodUnit[] = ['day', 'week', 'month', 'year'];

const DAY_MS = 24 * 60 * 60 * 1000;

function daysInMonth(year: number, monthIndex: number): number {
  return new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
}

function addMonths(date: Date, months: number): Date {
  const total = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const day = Math.min(date.getUTCDate(), daysInMonth(year, month));
  return new Date(Date.UTC(year, month, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()));
}

export function addPeriod(date: Date, amount: number, unit: PeriodUnit): Date {
  if (!Number.isInteger(amount)) throw new Error(`period amount must be a whole number, not ${amount}`);
  switch (unit) {
    case 'day':
      return new Date(date.getTime() + amount * DAY_MS);
    case 'week':
      return new Date(date.getTime() + amount * 7 * DAY_MS);
    case 'month':
      return addMonths(date, amount);
    case 'year':
      return addMonths(date, amount * 12);
    default:
      throw new Error(`unknown period unit ${String(unit)}`);
  }
}

export function subtractPeriod(date: Date, amount: number, unit: PeriodUnit): Date {
  return addPeriod(date, -amount, unit);
}

/** "3 months", "1 week". */
export function describePeriod(amount: number, unit: PeriodUnit): string {
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/**
 * SQL for the interval "amount unit", where both are SQL expressions (columns or bound values),
 * e.g. periodIntervalSql('c.active_period_amount', 'c.active_period_unit').
 */
export function periodIntervalSql(amount: string, unit: string): string {
  return (
    `make_interval(years => case when ${unit} = 'year' then ${amount} else 0 end, ` +
    `months => case when ${unit} = 'month' then ${amount} else 0 end, ` +
    `weeks => case when ${unit} = 'week' then ${amount} else 0 end, ` +
    `days => case when ${unit} = 'day' then ${amount} else 0 end)`
  );
}

/** SQL for timestamptz `moment` ± the period, computed in UTC (as addPeriod does). */
export function addPeriodSql(moment: string, amount: string, unit: string, sign: '+' | '-' = '+'): string {
  return `((${moment}) at time zone 'UTC' ${sign} ${periodIntervalSql(amount, unit)}) at time zone 'UTC'`;
}

/** SQL for a date column (midnight UTC) plus the period, as a timestamptz. */
export function addPeriodToDateSql(date: string, amount: string, unit: string): string {
  return `((${date})::timestamp + ${periodIntervalSql(amount, unit)}) at time zone 'UTC'`;
}
