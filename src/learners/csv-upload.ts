import { isUtf8 } from 'node:buffer';
import { parse } from 'csv-parse/sync';
import { SqlRunner, sql } from '../database/sql';

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

/** The result of reading a whole file: its columns and how many data rows were handed on, or why it was refused. */
export type CsvReadResult = { ok: true; columns: string[]; rows: number } | CsvFailure;

/** What to do in every message about the encoding. */
const SAVE_AS_UTF8 =
  'Save it again as CSV UTF-8: in Excel, choose File › Save As and the type “CSV UTF-8 (Comma delimited) (*.csv)”; in other programs, save as CSV with the encoding UTF-8.';
const NOT_UTF8 = 'The selected file must be a CSV file saved as UTF-8 text';

/** Files people pick by mistake, by their first bytes. */
const SIGNATURES: Array<[bytes: number[], what: string]> = [
  [[0x50, 0x4b, 0x03, 0x04], 'an Excel workbook (.xlsx) or another zip file'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'an old Excel workbook (.xls)'],
  [[0x25, 0x50, 0x44, 0x46], 'a PDF document'],
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG picture'],
  [[0xff, 0xd8, 0xff], 'a JPEG picture'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF picture'],
];

/** The line of the first byte that is not UTF-8 (a multi-byte character never spans a line break). */
function firstLineNotUtf8(buffer: Buffer): number {
  let line = 1;
  for (let start = 0; start < buffer.length; line++) {
    const newline = buffer.indexOf(0x0a, start);
    const end = newline === -1 ? buffer.length : newline + 1;
    if (!isUtf8(buffer.subarray(start, end))) return line;
    start = end;
  }
  return line;
}

/** Why the bytes are not a UTF-8 text file, in words that say how to fix it; null when they are. */
export function encodingProblem(buffer: Buffer): string | null {
  if ((buffer[0] === 0xff && buffer[1] === 0xfe) || (buffer[0] === 0xfe && buffer[1] === 0xff)) {
    return `${NOT_UTF8}: this one is saved as UTF-16 (“Unicode text”). ${SAVE_AS_UTF8}`;
  }
  const signature = SIGNATURES.find(([bytes]) => bytes.every((byte, i) => buffer[i] === byte));
  if (signature) return `${NOT_UTF8}: this one is ${signature[1]}, not a CSV file. ${SAVE_AS_UTF8}`;
  if (buffer.indexOf(0) !== -1) return `${NOT_UTF8}: this one holds NUL characters, as UTF-16 and binary files do. ${SAVE_AS_UTF8}`;
  if (!isUtf8(buffer)) {
    return `${NOT_UTF8}: line ${firstLineNotUtf8(buffer)} has characters in another encoding (such as Windows-1252 or Latin-1). ${SAVE_AS_UTF8}`;
  }
  return null;
}

/** How many times `byte` occurs in buffer[start, end). */
function countByte(buffer: Buffer, byte: number, start: number, end: number): number {
  let count = 0;
  for (let at = buffer.indexOf(byte, start); at !== -1 && at < end; at = buffer.indexOf(byte, at + 1)) count++;
  return count;
}

/**
 * The file in pieces of about `size` bytes, each ending at a line break outside any quoted value
 * (after an even number of quotes), so that each piece parses on its own; with the line it starts on.
 */
function* pieces(buffer: Buffer, size = 1024 * 1024): Generator<{ piece: Buffer; firstLine: number }> {
  let line = 1;
  for (let start = 0; start < buffer.length;) {
    let end = start;
    let quotes = 0;
    do {
      const newline = buffer.indexOf(0x0a, Math.max(end, Math.min(start + size, buffer.length) - 1));
      const next = newline === -1 ? buffer.length : newline + 1;
      quotes += countByte(buffer, 0x22, end, next);
      end = next;
    } while (quotes % 2 === 1 && end < buffer.length);
    yield { piece: buffer.subarray(start, end), firstLine: line };
    line += countByte(buffer, 0x0a, start, end);
    start = end;
  }
}

/**
 * Reads an uploaded CSV file row by row: UTF-8 text (a byte order mark is allowed), a header row
 * with every required column and no unknown or repeated ones, and the same number of values on
 * every row. Each well-formed data row goes to `eachRow` as it is read (none is kept here, so a
 * file of millions of rows takes no more memory than a few of them); `eachRow` answers false to
 * stop early. Rows with the wrong number of values are the file's errors, and `eachRow`'s own
 * findings count only when there are none.
 */
export async function readCsvUpload(
  file: { buffer: Buffer } | undefined,
  columns: CsvColumn[],
  eachRow: (row: CsvRow, header: string[]) => void | boolean | Promise<void | boolean>,
): Promise<CsvReadResult> {
  if (!file || file.buffer.length === 0) {
    return {
      ok: false,
      fileError: file ? 'The selected file is empty. Choose the CSV file with the header row and the data rows.' : 'Select a CSV file',
    };
  }
  const problem = encodingProblem(file.buffer);
  if (problem) return { ok: false, fileError: problem };

  const errors = new ErrorList();
  let header: string[] | null = null;
  let rows = 0;
  for (const { piece, firstLine } of pieces(file.buffer)) {
    let records: string[][];
    try {
      records = parse(piece, { bom: true, relax_column_count: true });
    } catch (caught) {
      const error = caught as { lines?: unknown; code?: unknown } | null;
      const line = typeof error?.lines === 'number' ? firstLine + error.lines - 1 : null;
      const reason = error?.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted value is not closed' : 'it is not valid CSV';
      return {
        ok: false,
        fileError: `The selected file could not be read as CSV: ${reason}${line ? ` (line ${line})` : ''}. Check the quotes on that line, or save the file again as CSV from your spreadsheet program.`,
      };
    }
    let line = firstLine;
    for (const record of records) {
      const at = line;
      // A quoted value may span lines: the next record starts after them.
      line += 1 + record.reduce((n, value) => n + (value.includes('\n') ? value.split('\n').length - 1 : 0), 0);
      // A blank line, or a row of empty cells as spreadsheets write below the data: not a row.
      if (record.every((value) => value.trim() === '')) continue;
      if (!header) {
        header = record.map((name) => name.trim().toLowerCase());
        const headerErrors = checkHeader(header, columns);
        if (!headerErrors.empty) return headerErrors.failure();
        continue;
      }
      if (record.length !== header.length) {
        errors.add(
          at,
          null,
          `This row has ${record.length} ${record.length === 1 ? 'value' : 'values'}; the header row has ${header.length}`,
        );
        if (errors.full) return errors.failure();
        continue;
      }
      rows++;
      if (!errors.empty) continue;
      const values: Record<string, string> = {};
      for (const column of columns) values[column.name] = '';
      for (let i = 0; i < header.length; i++) values[header[i]] = record[i].trim();
      const more = eachRow({ line: at, values }, header);
      if ((more instanceof Promise ? await more : more) === false) return { ok: true, columns: header, rows };
    }
  }
  if (!header) return { ok: false, fileError: 'The selected file is empty. Choose the CSV file with the header row and the data rows.' };
  if (!errors.empty) return errors.failure();
  if (rows === 0)
    return {
      ok: false,
      fileError: 'The selected file has a header row but no data rows: add a row under the header for each one to upload.',
    };
  return { ok: true, columns: header, rows };
}

/**
 * The rows of an upload, written as they are read into a temporary table of the transaction
 * (text columns, exactly as in the file), a batch at a time: the checks that need the whole file
 * (the same row twice, a learner or course that does not exist) are then made by SQL.
 */
export class StagedRows {
  private batch: object[] = [];

  constructor(
    private readonly db: SqlRunner,
    /** A fixed name chosen by the caller, never input. */
    private readonly table: string,
    /** The table's columns as `name type` pairs, e.g. `line integer, id_number text`. */
    private readonly columns: string,
    private readonly batchSize = 20_000,
  ) {}

  async create(): Promise<void> {
    await this.db.run(sql`create temporary table ${sql.raw(this.table)} (${sql.raw(this.columns)}) on commit drop`);
  }

  add(row: object): Promise<void> | void {
    this.batch.push(row);
    if (this.batch.length >= this.batchSize) return this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    const json = JSON.stringify(this.batch);
    this.batch = [];
    await this.db.bound(
      sql`insert into ${sql.raw(this.table)} select * from jsonb_to_recordset(${json}::jsonb) as f(${sql.raw(this.columns)})`,
    );
  }
}

function checkHeader(header: string[], columns: CsvColumn[]): ErrorList {
  const errors = new ErrorList();
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
  return errors;
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
