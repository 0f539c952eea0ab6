import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { CsvColumn, csvPieces, encodingProblem, readCsvUpload } from './csv-upload';

const MB = 1024 * 1024;
const COLUMNS: CsvColumn[] = ['a', 'b', 'c'].map((name) => ({ name, required: true, description: name }));

describe('readCsvUpload', () => {
  it('reads a file of several pieces row by row, with every row on its line as an editor numbers them', async () => {
    const lines = ['\ufeffa,b,c'];
    const expected: Array<{ line: number; values: Record<string, string> }> = [];
    let line = 2; // the line the next entry starts on
    for (let i = 0; i < 80_000; i++) {
      if (i % 3 === 0) {
        expected.push({ line, values: { a: String(i), b: 'spans\r\nthree\nlines, with "quotes"', c: 'x' } });
        lines.push(`${i},"spans\r\nthree\nlines, with ""quotes""",x`);
        line += 3;
      } else if (i % 1301 === 0) {
        lines.push('', ' , ,'); // a blank line and a row of empty cells: skipped
        line += 2;
      } else {
        expected.push({ line, values: { a: String(i), b: `value ${i}`, c: `quoted, ${i}` } });
        lines.push(`${i}, value ${i} ,"quoted, ${i}"`);
        line += 1;
      }
    }
    const text = lines.join('\r\n');
    expect(text.length).toBeGreaterThan(2.5 * 1024 * 1024); // three pieces and more, most likely cut inside a quoted value
    const seen: Array<{ line: number; values: Record<string, string> }> = [];
    const result = await readCsvUpload({ buffer: Buffer.from(text) }, COLUMNS, (row) => {
      seen.push(row);
    });
    expect(result).toEqual({ ok: true, columns: ['a', 'b', 'c'], rows: expected.length });
    expect(seen).toHaveLength(expected.length);
    const at = expected.findIndex((row, i) => !isDeepStrictEqual(row, seen[i]));
    expect(at === -1 ? null : { expected: expected[at], seen: seen[at] }).toBeNull();
  });

  it('reads a quoted value that spans the end of a piece (1 MB) as one value', async () => {
    const lines = ['a,b,c'];
    let length = 6;
    while (length < 1024 * 1024 - 100) length += lines[lines.push(`${lines.length},filler,row`) - 1].length + 1;
    const spanning = Array.from({ length: 10 }, () => 'y'.repeat(30)).join('\n');
    lines.push(`span,"${spanning}",end`, 'after,the,span', 'short,row,');
    const seen: Array<{ line: number; values: Record<string, string> }> = [];
    const result = await readCsvUpload({ buffer: Buffer.from(lines.join('\n')) }, COLUMNS, (row) => {
      seen.push(row);
    });
    const spanLine = lines.length - 2;
    expect(result).toEqual({ ok: true, columns: ['a', 'b', 'c'], rows: lines.length - 1 });
    expect(seen.slice(-3)).toEqual([
      { line: spanLine, values: { a: 'span', b: spanning, c: 'end' } },
      { line: spanLine + 10, values: { a: 'after', b: 'the', c: 'span' } },
      { line: spanLine + 11, values: { a: 'short', b: 'row', c: '' } },
    ]);
  });

  it('names the line of a row with the wrong number of values after multi-line values', async () => {
    const text = 'a,b,c\n1,"two\nlines",3\n\n4,5\n';
    const result = await readCsvUpload({ buffer: Buffer.from(text) }, COLUMNS, () => undefined);
    expect(result).toEqual({
      ok: false,
      errors: [{ line: 5, column: null, message: 'This row has 2 values; the header row has 3' }],
      total: 1,
    });
  });

  it('says which encoding a file is in when it is not UTF-8, and how to save it', () => {
    expect(encodingProblem(Buffer.from('a,b\n1,2\n'))).toBeNull();
    expect(encodingProblem(Buffer.from('\ufeffa,b\n1,é\n'))).toBeNull();
    expect(encodingProblem(Buffer.from('a,b\n1,2\n3,\xe9\n', 'latin1'))).toMatch(
      /^The selected file must be a CSV file saved as UTF-8 text: line 3 has characters/,
    );
    expect(encodingProblem(Buffer.from('\ufeffa,b', 'utf16le'))).toMatch(/saved as UTF-16 .*Save it again as CSV UTF-8/);
  });

  it('names the line of a quote that is never closed, however far the file goes on after it', async () => {
    const lines = ['a,b,c', '1,2,3', '4,"five,6'];
    for (let i = 0; i < 800_000; i++) lines.push(`${i},value ${i},more ${i}`);
    const result = await readCsvUpload({ buffer: Buffer.from(lines.join('\n')) }, COLUMNS, () => undefined);
    expect(result).toEqual({ ok: false, fileError: expect.stringContaining('a quoted value is not closed (line 3)') as string });
  });

  it('gives way to other work after each piece of a 20 MB file on disk, also when a stray quote leaves it one value', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certex-csv-'));
    try {
      const path = join(dir, 'stray.csv');
      const rows = Array.from({ length: 200_000 }, (_, i) => `${i},value ${i},more ${i}`).join('\n');
      const copies = Math.ceil((20 * MB) / rows.length);
      await writeFile(path, ['a,b,c\n1,2,3\n4,"five,6\n', ...Array.from({ length: copies }, () => rows + '\n')].join(''));
      const { size } = await stat(path);
      let turns = 0;
      let reading = true;
      const otherWork = () => {
        turns++;
        if (reading) setImmediate(otherWork);
      };
      setImmediate(otherWork);
      const result = await readCsvUpload({ path, size }, COLUMNS, () => undefined).finally(() => (reading = false));
      expect(result).toEqual({ ok: false, fileError: expect.stringContaining('a quoted value is not closed (line 3)') as string });
      // Read twice (the encoding check, then the values) a megabyte at a time: other work ran between every two pieces.
      expect(turns).toBeGreaterThanOrEqual(2 * Math.floor(size / MB));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cuts the file into pieces at line breaks outside quotes, each byte looked at once', async () => {
    const text = 'a,b,c\n1,"x\ny",3\n' + '4,5,6\n'.repeat(1000) + '7,"8",9\n';
    const chunks = function* () {
      for (let at = 0; at < text.length; at += 7) yield Buffer.from(text.slice(at, at + 7));
    };
    const pieces: Array<{ firstLine: number; text: string }> = [];
    for await (const piece of csvPieces(chunks(), 100)) {
      if ('unclosedQuoteAt' in piece) throw new Error('no quote is left open');
      pieces.push({ firstLine: piece.firstLine, text: piece.piece.toString() });
    }
    expect(pieces.map((p) => p.text).join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(10);
    let line = 1;
    for (const piece of pieces) {
      expect(piece.firstLine).toBe(line);
      expect(piece.text.endsWith('\n')).toBe(true);
      line += piece.text.split('\n').length - 1;
    }
    const stray = function* () {
      yield Buffer.from('a,b,c\n1,2,3\n');
      yield Buffer.from('4,"5,6\n7,8,9\n');
    };
    const found = [];
    for await (const piece of csvPieces(stray(), 4)) found.push(piece);
    expect(found.at(-1)).toEqual({ unclosedQuoteAt: 3 });
  });
});
