import { NotFoundException } from '@nestjs/common';
import { BigIdPipe, IdPipe } from './id.pipe';

describe('IdPipe and BigIdPipe', () => {
  const integerId = new IdPipe();
  const bigId = new BigIdPipe();

  it('take a whole number from 1 up to the largest value of their column', () => {
    expect(integerId.transform('1')).toBe(1);
    expect(integerId.transform('2147483647')).toBe(2147483647);
    expect(bigId.transform('2147483648')).toBe(2147483648);
    expect(bigId.transform('9007199254740991')).toBe(9007199254740991);
  });

  it('answer not found for anything else', () => {
    for (const value of ['0', '-1', '-9223372036854775296', '9007199254740992', '1e3', '1.5', ' 1', '', 'x', '00000000000000001']) {
      expect(() => integerId.transform(value)).toThrow(NotFoundException);
      expect(() => bigId.transform(value)).toThrow(NotFoundException);
    }
    expect(() => integerId.transform('2147483648')).toThrow(NotFoundException);
  });
});
