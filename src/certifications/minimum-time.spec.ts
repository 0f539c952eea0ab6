import { totalMinimumDays } from './minimum-time';

describe('totalMinimumDays', () => {
  it('is 0 for an empty path', () => {
    expect(totalMinimumDays([])).toBe(0);
  });

  it('takes the largest of sets joined by OR', () => {
    expect(
      totalMinimumDays([
        { minDays: 5, joiner: 'or' },
        { minDays: 12, joiner: 'or' },
        { minDays: 3, joiner: 'and' },
      ]),
    ).toBe(12);
  });

  it('adds up sets joined by AND and by THEN', () => {
    expect(
      totalMinimumDays([
        { minDays: 5, joiner: 'and' },
        { minDays: 7, joiner: 'and' },
      ]),
    ).toBe(12);
    expect(
      totalMinimumDays([
        { minDays: 5, joiner: 'then' },
        { minDays: 7, joiner: 'then' },
        { minDays: 1, joiner: 'and' },
      ]),
    ).toBe(13);
  });

  it('adds the OR groups of a mixed path', () => {
    // (4 or 10) then 7 and (2 or 3 or 1) = 10 + 7 + 3
    expect(
      totalMinimumDays([
        { minDays: 4, joiner: 'or' },
        { minDays: 10, joiner: 'then' },
        { minDays: 7, joiner: 'and' },
        { minDays: 2, joiner: 'or' },
        { minDays: 3, joiner: 'or' },
        { minDays: 1, joiner: 'and' },
      ]),
    ).toBe(20);
    // the joiner of set i links it to set i+1: 6 and (8 or 2) = 14
    expect(
      totalMinimumDays([
        { minDays: 6, joiner: 'and' },
        { minDays: 8, joiner: 'or' },
        { minDays: 2, joiner: 'and' },
      ]),
    ).toBe(14);
  });

  it('ignores the joiner of the last set', () => {
    expect(
      totalMinimumDays([
        { minDays: 5, joiner: 'and' },
        { minDays: 9, joiner: 'or' },
      ]),
    ).toBe(14);
    expect(totalMinimumDays([{ minDays: 9, joiner: 'or' }])).toBe(9);
  });
});
