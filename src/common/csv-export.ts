import type { Response } from 'express';
import { stringify } from 'csv-stringify';
import { localDate } from './time-zone';

/**
 * A moment as a CSV date column holds it: its day (YYYY-MM-DD) in the reader's zone, which the
 * column's header names (zonedHeader); empty when there is none.
 */
export function csvDate(value: Date | string | null | undefined, zone: string): string {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : localDate(date, zone);
}

/** The header of a date column, naming the zone its days are in: "Due date (Europe/London)". */
export function zonedHeader(label: string, zone: string): string {
  return `${label} (${zone})`;
}

/**
 * A cell made safe for spreadsheets: text that starts with = + - @ (or a tab or carriage return)
 * would be read as a formula, so it gets a leading apostrophe.
 */
export function safeCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date
      ? value.toISOString()
      : typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
        ? String(value)
        : (JSON.stringify(value) ?? '');
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * Streams a CSV download: the header, then every row that `pages` yields (page by page, so that
 * a 100,000-row report never sits in memory), honouring back-pressure.
 */
export async function streamCsv(res: Response, filename: string, header: string[], pages: AsyncIterable<unknown[][]>): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '-')}"`);
  res.setHeader('Cache-Control', 'no-store');
  const csv = stringify();
  csv.pipe(res);
  const write = (row: unknown[]) =>
    csv.write(row.map(safeCell)) ? Promise.resolve() : new Promise<void>((done) => csv.once('drain', () => done()));
  await write(header);
  for await (const page of pages) {
    for (const row of page) await write(row);
  }
  csv.end();
  await new Promise<void>((done) => res.once('finish', () => done()));
}

/** Each page's rows as CSV rows, for `streamCsv`. */
export async function* csvRows<Row>(pages: AsyncIterable<Row[]>, cells: (row: Row) => unknown[]): AsyncGenerator<unknown[][]> {
  for await (const page of pages) yield page.map(cells);
}
