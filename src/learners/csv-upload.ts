import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
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
  const check = new EncodingCheck();
  check.add(buffer);
  return check.problem();
}

const PIECE_BYTES = 1024 * 1024;

/** An uploaded file: in memory, or stored on disk by the upload middleware. */
export type UploadedCsv = { buffer: Buffer } | { path: string; size: number };

function uploadSize(file: UploadedCsv): number {
  return 'buffer' in file ? file.buffer.length : file.size;
}

/** The file's bytes in chunks of about `size` bytes, read from disk a chunk at a time when it is stored there. */
async function* chunksOf(file: UploadedCsv, size = PIECE_BYTES): AsyncGenerator<Buffer> {
  if ('buffer' in file) {
    for (let at = 0; at < file.buffer.length; at += size) yield file.buffer.subarray(at, at + size);
    return;
  }
  for await (const chunk of createReadStream(file.path, { highWaterMark: size })) yield chunk as Buffer;
}

/** Lets other requests be answered between two pieces of a large file. */
const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/** The bytes between two line breaks, checked as each chunk arrives (a multi-byte character never spans a line break). */
class EncodingCheck {
  private first: Buffer | null = null;
  private rest: Buffer[] = [];
  private restBytes = 0;
  private line = 1;
  private nul = false;
  private badLine: number | null = null;

  add(chunk: Buffer): void {
    if (!this.first) this.first = chunk.subarray(0, 4);
    else if (this.first.length < 4) this.first = Buffer.concat([this.first, chunk.subarray(0, 4 - this.first.length)]);
    if (!this.nul && chunk.indexOf(0) !== -1) this.nul = true;
    const newline = chunk.lastIndexOf(0x0a);
    if (newline === -1) {
      this.rest.push(chunk);
      this.restBytes += chunk.length;
      return;
    }
    const lines = Buffer.concat([...this.rest, chunk.subarray(0, newline + 1)], this.restBytes + newline + 1);
    this.check(lines);
    this.rest = [chunk.subarray(newline + 1)];
    this.restBytes = chunk.length - newline - 1;
  }

  private check(lines: Buffer): void {
    if (this.badLine === null && !isUtf8(lines)) this.badLine = this.line - 1 + firstLineNotUtf8(lines);
    this.line += countByte(lines, 0x0a);
  }

  problem(): string | null {
    if (this.restBytes > 0) this.check(Buffer.concat(this.rest, this.restBytes));
    const start = this.first ?? Buffer.alloc(0);
    if ((start[0] === 0xff && start[1] === 0xfe) || (start[0] === 0xfe && start[1] === 0xff)) {
      return `${NOT_UTF8}: this one is saved as UTF-16 (“Unicode text”). ${SAVE_AS_UTF8}`;
    }
    const signature = SIGNATURES.find(([bytes]) => bytes.every((byte, i) => start[i] === byte));
    if (signature) return `${NOT_UTF8}: this one is ${signature[1]}, not a CSV file. ${SAVE_AS_UTF8}`;
    if (this.nul) return `${NOT_UTF8}: this one holds NUL characters, as UTF-16 and binary files do. ${SAVE_AS_UTF8}`;
    if (this.badLine !== null) {
      return `${NOT_UTF8}: line ${this.badLine} has characters in another encoding (such as Windows-1252 or Latin-1). ${SAVE_AS_UTF8}`;
    }
    return null;
  }
}

async function encodingProblemOf(file: UploadedCsv): Promise<string | null> {
  const check = new EncodingCheck();
  for await (const chunk of chunksOf(file)) {
    check.add(chunk);
    await nextTurn();
  }
  return check.problem();
}

/** How many times `byte` occurs in the buffer: one pass, which beats a native search per line in files of short lines. */
function countByte(buffer: Buffer, byte: number): number {
  let count = 0;
  for (let i = 0; i < buffer.length; i++) if (buffer[i] === byte) count++;
  return count;
}

/** A piece of the file that parses on its own, with the line it starts on; or the line of a quote never closed. */
type Piece = { piece: Buffer; firstLine: number } | { unclosedQuoteAt: number };

/**
 * The file in pieces of about `size` bytes, each ending at a line break outside any quoted value
 * (after an even number of quotes), so that each piece parses on its own. Every byte is looked at
 * once: a quote that is never closed is found at the end of the file, named by its line, without
 * parsing the rest of the file as one value.
 */
export async function* csvPieces(chunks: AsyncIterable<Buffer> | Iterable<Buffer>, size = PIECE_BYTES): AsyncGenerator<Piece> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let heldFirstLine = 1;
  let newlines = 0; // in held
  let cut = -1; // the end of the last line in held that ends outside quotes
  let newlinesAtCut = 0;
  let inQuotes = false;
  let openedAt = 0; // the line of the quote that opened the current quoted value
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === 0x22) {
        inQuotes = !inQuotes;
        if (inQuotes) openedAt = heldFirstLine + newlines;
      } else if (byte === 0x0a) {
        newlines++;
        if (!inQuotes) {
          cut = heldBytes + i + 1;
          newlinesAtCut = newlines;
        }
      }
    }
    held.push(chunk);
    heldBytes += chunk.length;
    if (heldBytes >= size && cut > 0) {
      const all = Buffer.concat(held, heldBytes);
      yield { piece: all.subarray(0, cut), firstLine: heldFirstLine };
      held = [all.subarray(cut)];
      heldBytes -= cut;
      heldFirstLine += newlinesAtCut;
      newlines -= newlinesAtCut;
      cut = -1;
    }
  }
  if (inQuotes) yield { unclosedQuoteAt: openedAt };
  else if (heldBytes > 0) yield { piece: Buffer.concat(held, heldBytes), firstLine: heldFirstLine };
}

function notCsv(reason: string, line: number | null): CsvFailure {
  return {
    ok: false,
    fileError: `The selected file could not be read as CSV: ${reason}${line ? ` (line ${line})` : ''}. Check the quotes on that line, or save the file again as CSV from your spreadsheet program.`,
  };
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
  file: UploadedCsv | undefined,
  columns: CsvColumn[],
  eachRow: (row: CsvRow, header: string[]) => void | boolean | Promise<void | boolean>,
): Promise<CsvReadResult> {
  if (!file || uploadSize(file) === 0) {
    return {
      ok: false,
      fileError: file ? 'The selected file is empty. Choose the CSV file with the header row and the data rows.' : 'Select a CSV file',
    };
  }
  const problem = await encodingProblemOf(file);
  if (problem) return { ok: false, fileError: problem };

  const errors = new ErrorList();
  let header: string[] | null = null;
  let rows = 0;
  for await (const next of csvPieces(chunksOf(file))) {
    if ('unclosedQuoteAt' in next) return notCsv('a quoted value is not closed', next.unclosedQuoteAt);
    const { piece, firstLine } = next;
    await nextTurn();
    let records: string[][];
    try {
      records = parse(piece, { bom: true, relax_column_count: true });
    } catch (caught) {
      const error = caught as { lines?: unknown; code?: unknown } | null;
      const line = typeof error?.lines === 'number' ? firstLine + error.lines - 1 : null;
      const reason = error?.code === 'CSV_QUOTE_NOT_CLOSED' ? 'a quoted value is not closed' : 'it is not valid CSV';
      return notCsv(reason, line);
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
    await this.db.run(
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
