import { parse } from 'csv-parse/sync';

/** One problem in an uploaded file. Line 1 is the header row; column is the header name. */
export interface CsvError {
  line: number | null;
  column: string | null;
  message: string;
}

export interface CsvColumn {
  name: string;
  required: boolean;
  /** For the page: what the column holds. */
  description: string;
}

/** A data row: the values by column name (trimmed; '' when empty or the column is absent). */
export interface CsvRow {
  line: number;
  values: Record<string, string>;
}

/** Why a file was refused: a problem with the file itself, or its errors (the first 10,000 of `total`). */
export type CsvFailure = { ok: false; fileError: string } | { ok: false; errors: CsvError[]; total: number };

export type CsvParseResult = { ok: true; columns: string[]; rows: CsvRow[] } | CsvFailure;

/** How many errors a page lists; the rest are counted. */
export const ERRORS_SHOWN = 100;
/** Checking stops once this many errors were found: nobody reads a million messages. */
const ERRORS_COLLECTED = 10_000;

export function csvErrorText(error: CsvError): string {
  if (error.line === null) return error.message;
  return error.column ? `Line ${error.line}, column ${error.column}: ${error.message}` : `Line ${error.line}: ${error.message}`;
}

/** Collects errors up to a limit, counting every one. */
export class ErrorList {
  readonly items: CsvError[] = [];
  total = 0;

  add(line: number | null, column: string | null, message: string): void {
    this.total++;
    if (this.items.length < ERRORS_COLLECTED) this.items.push({ line, column, message });
  }

  get full(): boolean {
    return this.items.length >= ERRORS_COLLECTED;
  }

  get empty(): boolean {
    return this.total === 0;
  }

  /** The errors by line, as the answer to an upload. */
  failure(): { ok: false; errors: CsvError[]; total: number } {
    return { ok: false, errors: [...this.items].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)), total: this.total };
  }
}

/**
 * Reads an uploaded CSV file: UTF-8 text (a byte order mark is allowed), a header row with every
 * required column and no unknown or repeated ones, and the same number of values on every row.
 */
export function parseCsvUpload(file: { buffer: Buffer } | undefined, columns: CsvColumn[]): CsvParseResult {
  if (!file || file.buffer.length === 0) {
    return { ok: false, fileError: file ? 'The selected file is empty' : 'Select a CSV file' };
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.buffer);
  } catch {
    return { ok: false, fileError: 'The selected file must be a CSV file saved as UTF-8 text' };
  }
  if (text.includes('\u0000')) return { ok: false, fileError: 'The selected file must be a CSV file saved as UTF-8 text' };

  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (error: any) {
    const line = typeof error?.lines === 'number' ? error.lines : null;
    const reason = error?.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted value is not closed' : 'it is not valid CSV';
    return { ok: false, fileError: `The selected file could not be read as CSV: ${reason}${line ? ` (line ${line})` : ''}` };
  }
  if (records.length === 0) return { ok: false, fileError: 'The selected file is empty' };

  const errors = new ErrorList();
  const header = records[0].record.map((name) => name.trim().toLowerCase());
  const known = new Set(columns.map((c) => c.name));
  header.forEach((name, index) => {
    if (name === '') errors.add(1, null, `Column ${index + 1} has no name in the header row`);
    else if (!known.has(name)) errors.add(1, name, `Unknown column: the columns are ${columns.map((c) => c.name).join(', ')}`);
    else if (header.indexOf(name) !== index) errors.add(1, name, 'This column appears more than once in the header row');
  });
  for (const column of columns) {
    if (column.required && !header.includes(column.name)) {
      errors.add(1, column.name, `The header row must have a column named ${column.name}`);
    }
  }
  if (!errors.empty) return errors.failure();
  if (records.length === 1) return { ok: false, fileError: 'The selected file has a header row but no data rows' };

  const rows: CsvRow[] = [];
  for (let r = 1; r < records.length; r++) {
    const { record, info } = records[r];
    // info.lines is the line where the record ends; a quoted value may span lines.
    const newlines = record.reduce((n, value) => n + (value.includes('\n') ? value.split('\n').length - 1 : 0), 0);
    const line = info.lines - newlines;
    if (record.length !== header.length) {
      errors.add(line, null, `This row has ${record.length} ${record.length === 1 ? 'value' : 'values'}; the header row has ${header.length}`);
      if (errors.full) break;
      continue;
    }
    const values: Record<string, string> = {};
    for (const column of columns) values[column.name] = '';
    header.forEach((name, index) => (values[name] = record[index].trim()));
    rows.push({ line, values });
  }
  if (!errors.empty) return errors.failure();
  return { ok: true, columns: header, rows };
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written YYYY-MM-DD, between 1900 and 2100. */
export function isIsoDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1900 || year > 2100) return false;
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** Today in UTC as YYYY-MM-DD, for "not in the future" checks. */
export function todayIso(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
