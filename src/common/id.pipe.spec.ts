import { NotFoundException } from '@nestjs/common';
import { IdPipe } from './id.pipe';

describe('IdPipe', () => {
  const pipe = new IdPipe();

  it('takes a whole number from 1 up to the largest safe integer', () => {
    expect(pipe.transform('1')).toBe(1);
    expect(pipe.transform('9007199254740991')).toBe(9007199254740991);
  });

  it('answers not found for anything else', () => {
    for (const value of ['0', '-1', '-9223372036854775296', '9007199254740992', '1e3', '1.5', ' 1', '', 'x', '00000000000000001']) {
      expect(() => pipe.transform(value)).toThrow(NotFoundException);
    }
  });
});
