import { actionFits, conditionLabel, EXCEPTION_TYPES, refusal } from './exception-rules';

describe('which action fits which exception type', () => {
  // The matrix of DOMAIN.md §3, row by row.
  const matrix: Record<string, [boolean, boolean, boolean, boolean]> = {
    time_allowance: [true, true, true, true],
    duplicate_course: [true, false, true, true],
    completion_time_unknown: [false, true, true, true],
    unknown: [false, false, true, true],
  };

  it.each(EXCEPTION_TYPES.map((type) => [type]))('follows the matrix for %s', (type) => {
    const [assign, realistic, doNotAssign, dismiss] = matrix[type];
    expect(actionFits('assign', type)).toBe(assign);
    expect(actionFits('assign_realistic', type)).toBe(realistic);
    expect(actionFits('do_not_assign', type)).toBe(doNotAssign);
    expect(actionFits('dismiss', type)).toBe(dismiss);
  });

  it('refuses a selection naming every type the action does not fit, with counts', () => {
    expect(refusal('assign', { time_allowance: 4, completion_time_unknown: 12, unknown: 1 })).toBe(
      'Assign cannot be applied to 12 completion time unknown issues and 1 unknown issue in your selection. ' +
        'Choose another action or select fewer learners.',
    );
    expect(refusal('assign_realistic', { duplicate_course: 2 })).toContain('2 duplicate course issues');
    expect(refusal('assign', { time_allowance: 4, duplicate_course: 3 })).toBeNull();
    expect(refusal('dismiss', { unknown: 9, time_allowance: 1 })).toBeNull();
  });

  it('names the Select conditions as the product does', () => {
    expect(conditionLabel('time_allowance')).toBe('All time allowance issues');
    expect(conditionLabel('completion_time_unknown')).toBe('All completion time unknown issues');
  });
});
