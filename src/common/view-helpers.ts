import type { HelperDelegate } from 'handlebars';
import { UrlBuilder } from './url';

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const DATE_TIME = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  timeZone: 'UTC',
});
const NUMBER = new Intl.NumberFormat('en-GB');

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(value as string | number);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDate(value: unknown): string {
  const date = toDate(value);
  return date ? DATE.format(date) : '';
}

export function formatDateTime(value: unknown): string {
  const date = toDate(value);
  return date ? DATE_TIME.format(date) + ' UTC' : '';
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
    date: (value: unknown) => formatDate(value),
    datetime: (value: unknown) => formatDateTime(value),
    number: (value: unknown) => formatNumber(value),
    plural: (count: number, singular: string, pluralForm: unknown) =>
      plural(count, singular, typeof pluralForm === 'string' ? pluralForm : undefined),
    concat: (...list: unknown[]) => args(list).join(''),
  };
}
