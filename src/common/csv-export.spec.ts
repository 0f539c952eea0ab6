import { safeCell } from './csv-export';

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
