import type { Response } from 'express';
import { stringify } from 'csv-stringify/sync';
import { wallClock } from './time-zone';

/**
 * A moment as a CSV date column holds it: its day (YYYY-MM-DD) in the reader's zone, which the
 * column's header names (zonedHeader); empty when there is none.
 */
export function csvDate(value: Date | string | null | undefined, zone: string): string {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(value);
  const time = date.getTime();
  return Number.isNaN(time) ? '' : new Date(wallClock(date, zone)).toISOString().slice(0, 10);
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
 * a million-row report never sits in memory), each page written as one piece of text, honouring
 * back-pressure; the next page is read while the client takes this one.
 *
 * A row's cells are made only as its page is written and are made safe at once, so that no cell
 * list outlives its row: lists made a page ahead and kept over the wait for the client lived long
 * enough for V8 to move the place that makes them to the old generation, where every later list
 * (and what it held) piled up as garbage until a full collection.
 */
export async function streamCsv<Row>(
  res: Response,
  filename: string,
  header: string[],
  pages: AsyncIterable<Row[]>,
  cells: (row: Row) => unknown[],
): Promise<void> {
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, '-')}"`);
  res.setHeader('Cache-Control', 'no-store');
  // A client that goes away ends the download: nothing more is read.
  const gone = new Promise<void>((done) => res.once('close', () => done()));
  let drained: Promise<void> = Promise.resolve();
  const write = async (text: () => string) => {
    await drained;
    if (res.destroyed) return;
    if (!res.write(text())) {
      drained = Promise.race([new Promise<void>((done) => res.once('drain', () => done())), gone]);
    }
  };
  await write(() => stringify([header.map(safeCell)]));
  for await (const page of pages) {
    await write(() => stringify(page.map((row) => cells(row).map(safeCell))));
    if (res.destroyed) return;
  }
  await drained;
  if (res.destroyed) return;
  res.end();
  await Promise.race([new Promise<void>((done) => (res.writableFinished ? done() : res.once('finish', () => done()))), gone]);
}
