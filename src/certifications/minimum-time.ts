export type Joiner = 'and' | 'or' | 'then';

export interface TimedSet {
  minDays: number;
  /** Links this set to the next one; the last set's joiner links to nothing. */
  joiner: Joiner;
}

/**
 * Total minimum time of a path: sets joined by OR form a group that takes as long as its longest
 * set; groups (joined by AND or THEN) add up.
 */
export function totalMinimumDays(sets: TimedSet[]): number {
  let total = 0;
  let group = 0;
  sets.forEach((set, index) => {
    group = Math.max(group, set.minDays);
    const last = index === sets.length - 1;
    if (last || set.joiner !== 'or') {
      total += group;
      group = 0;
    }
  });
  return total;
}
