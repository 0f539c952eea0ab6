import { intArray, textArray } from './sql';

describe('array literals', () => {
  it('writes whole numbers and quoted, escaped text', () => {
    expect(intArray([1, 22, 3.7])).toBe('{1,22,3}');
    expect(intArray([])).toBe('{}');
    expect(textArray(['a', 'O"Brien', 'back\\slash', 'with, comma'])).toBe('{"a","O\\"Brien","back\\\\slash","with, comma"}');
  });
});
