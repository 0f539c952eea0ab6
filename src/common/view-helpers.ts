import type { HelperDelegate, HelperOptions } from 'handlebars';
import { wallClock } from './time-zone';
import { UrlBuilder } from './url';

const NUMBER = new Intl.NumberFormat('en-GB');

const dateFormats = new Map<string, { date: Intl.DateTimeFormat; dateTime: Intl.DateTimeFormat }>();
function formatsFor(zone: string) {
  let formats = dateFormats.get(zone);
  if (!formats) {
    formats = {
      date: new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: zone }),
      dateTime: new Intl.DateTimeFormat('en-GB', {
        day: 'numeric',
        month: 'short',
        year: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        timeZone: zone,
        timeZoneName: 'short',
      }),
    };
    dateFormats.set(zone, formats);
  }
  return formats;
}

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(value as string | number);
  return Number.isNaN(date.getTime()) ? null : date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const dayTexts = new Map<number, string>();

/** "5 Mar 2026" for a calendar day counted from 1970-01-01; a page's rows share few days, each formatted once. */
function dayText(day: number): string {
  let text = dayTexts.get(day);
  if (text === undefined) {
    text = formatsFor('UTC').date.format(new Date(day * DAY_MS));
    if (dayTexts.size >= 10_000) dayTexts.clear();
    dayTexts.set(day, text);
  }
  return text;
}

/** "5 Mar 2026": the day of the moment in the zone (a YYYY-MM-DD text is that calendar date as it is). */
export function formatDate(value: unknown, zone: string): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return dayText(Date.parse(`${value}T00:00:00Z`) / DAY_MS);
  const date = toDate(value);
  return date ? dayText(Math.floor(wallClock(date, zone) / DAY_MS)) : '';
}

/** "5 Mar 2026, 14:30 GMT": the moment on the zone's clock, with the zone's short name. */
export function formatDateTime(value: unknown, zone: string): string {
  const date = toDate(value);
  return date ? formatsFor(zone).dateTime.format(date) : '';
}

/** The reader's time zone, as the request put it in the render data (res.locals.timeZone). */
export function zoneOf(options: HelperOptions | undefined): string {
  const root = (options?.data as { root?: { timeZone?: unknown } } | undefined)?.root;
  return typeof root?.timeZone === 'string' ? root.timeZone : 'UTC';
}

export function formatNumber(value: unknown): string {
  const n = Number(value);
  return Number.isFinite(n) ? NUMBER.format(n) : '';
}

export function plural(count: number, singular: string, pluralForm = singular + 's'): string {
  return `${formatNumber(count)} ${count === 1 ? singular : pluralForm}`;
}

/** `Page – Section – Certex`, with "Error: " in front when the page shows form errors. */
export function pageTitle(parts: string[], hasErrors = false): string {
  return (hasErrors ? 'Error: ' : '') + [...parts.filter(Boolean), 'Certex'].join(' – ');
}

/** Every helper plain-text only: none of them returns HTML. */
export function viewHelpers(urls: UrlBuilder): Record<string, HelperDelegate> {
  const args = (list: unknown[]) => list.slice(0, -1);
  return {
    url: (...list: unknown[]) => urls.to(...(args(list) as Array<string | number>)),
    eq: (a: unknown, b: unknown) => a === b,
    or: (...list: unknown[]) => args(list).some(Boolean),
    and: (...list: unknown[]) => args(list).every(Boolean),
    date: (value: unknown, options: HelperOptions) => formatDate(value, zoneOf(options)),
    datetime: (value: unknown, options: HelperOptions) => formatDateTime(value, zoneOf(options)),
    number: (value: unknown) => formatNumber(value),
    plural: (count: number, singular: string, pluralForm: unknown) =>
      plural(count, singular, typeof pluralForm === 'string' ? pluralForm : undefined),
    concat: (...list: unknown[]) => args(list).join(''),
  };
}
