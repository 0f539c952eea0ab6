import { isDeepStrictEqual } from 'node:util';
import { CsvColumn, encodingProblem, readCsvUpload } from './csv-upload';

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
});
