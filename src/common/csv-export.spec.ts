import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { csvDate, safeCell, streamCsv } from './csv-export';
import { localDate } from './time-zone';

describe('CSV cells made safe', () => {
  it.each([
    ['=HYPERLINK("x")', `'=HYPERLINK("x")`],
    ['+1', `'+1`],
    ['-2', `'-2`],
    ['@SUM(A1)', `'@SUM(A1)`],
    ['\tx', `'\tx`],
    ['Smith', 'Smith'],
    ['a=b', 'a=b'],
    [null, ''],
  ])('%j becomes %j', (input, output) => {
    expect(safeCell(input)).toBe(output);
  });
});

describe('CSV dates', () => {
  it.each([
    ['Europe/London', '2026-03-26T00:00:00Z'],
    ['America/New_York', '2026-10-29T00:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-02T00:00:00Z'],
    ['Asia/Kathmandu', '2026-06-01T00:00:00Z'],
    ['Pacific/Chatham', '2026-04-03T00:00:00Z'],
  ])('are the day in %s of every instant, across its changes of clocks (from %s)', (zone, from) => {
    const start = Date.parse(from);
    // Every 7 minutes and 13 seconds over six days, so that instants fall on both sides of each quarter hour.
    for (let t = start; t < start + 6 * 86400_000; t += 433_000) {
      expect([zone, new Date(t).toISOString(), csvDate(new Date(t), zone)]).toEqual([
        zone,
        new Date(t).toISOString(),
        localDate(new Date(t), zone),
      ]);
    }
    expect(csvDate(null, zone)).toBe('');
    expect(csvDate('not a date', zone)).toBe('');
  });
});

/** A response that takes what is written and, like a socket, can ask the writer to wait for "drain". */
class FakeResponse extends EventEmitter {
  statusCode = 0;
  readonly headers: Record<string, string> = {};
  readonly chunks: string[] = [];
  destroyed = false;
  writableFinished = false;
  /** Whether the next write fills the buffer (write answers false; "drain" comes when the test says). */
  full = false;

  status(code: number) {
    this.statusCode = code;
    return this;
  }

  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }

  write(chunk: string) {
    this.chunks.push(chunk);
    return !this.full;
  }

  end() {
    this.writableFinished = true;
    this.emit('finish');
  }
}

/** The pages as a database read gives them: each one after a wait. */
async function* pagesOf<T>(pages: T[][]) {
  for (const page of pages) {
    await Promise.resolve();
    yield page;
  }
}

const settle = () => new Promise((done) => setImmediate(done));

describe('streamCsv', () => {
  it('writes the header and every row of every page in order, each cell made safe', async () => {
    const res = new FakeResponse();
    const pages = pagesOf([
      [{ name: 'Ada', note: '=1+1' }],
      [
        { name: '@Ben', note: 'a, "b"' },
        { name: 'Cy', note: null },
      ],
    ]);
    await streamCsv(res as unknown as Response, 'report of «x».csv', ['Name', '-Note'], pages, (row) => [row.name, row.note]);
    expect(res.statusCode).toBe(200);
    expect(res.headers['Content-Type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['Content-Disposition']).toBe('attachment; filename="report-of--x-.csv"');
    expect(res.chunks.join('')).toBe(`Name,'-Note\nAda,'=1+1\n'@Ben,"a, ""b"""\nCy,\n`);
    expect(res.writableFinished).toBe(true);
  });

  it("makes a page's cells only once the client has taken the page before it", async () => {
    const res = new FakeResponse();
    const made: string[] = [];
    const pages = pagesOf([['a1', 'a2'], ['b1']]);
    res.full = true;
    const streaming = streamCsv(res as unknown as Response, 'x.csv', ['Value'], pages, (row) => {
      made.push(row);
      return [row];
    });
    await settle();
    // The header filled the buffer: the first page waits, its cells not made yet.
    expect(made).toEqual([]);
    res.emit('drain');
    await settle();
    expect(made).toEqual(['a1', 'a2']);
    res.emit('drain');
    await settle();
    expect(made).toEqual(['a1', 'a2', 'b1']);
    res.emit('drain');
    await streaming;
    expect(res.chunks).toEqual(['Value\n', 'a1\na2\n', 'b1\n']);
  });

  it('reads nothing more once the client has gone', async () => {
    const res = new FakeResponse();
    let read = 0;
    async function* endless() {
      for (;;) {
        await Promise.resolve();
        read++;
        yield [read];
      }
    }
    res.full = true;
    const streaming = streamCsv(res as unknown as Response, 'x.csv', ['N'], endless(), (n) => [n]);
    await settle();
    res.destroyed = true;
    res.emit('close');
    await streaming;
    expect(read).toBe(1);
    expect(res.writableFinished).toBe(false);
  });
});
