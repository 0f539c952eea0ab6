import { csvDate, safeCell } from './csv-export';
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
