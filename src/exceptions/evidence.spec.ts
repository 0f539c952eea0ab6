import { daysLeft } from '../common/time-zone';
import { describeEvidence as describeIn } from './evidence';

const describeEvidence = (type: string, evidence: unknown, now: Date, stored = '') => describeIn(type, evidence, now, stored, 'UTC');

describe('describeEvidence', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  // As the sync stores it: a timestamptz turned into jsonb.
  const dueAt = '2026-12-03T23:59:59.999+00:00';

  it('works out the days left of a time allowance from now, not from when it was raised', () => {
    const evidence = { dueAt, minimumDays: 30, daysLeft: 40, shortfallDays: -10 };
    expect(describeEvidence('time_allowance', evidence, now)).toBe('Due 3 Dec 2026: 9 days left, 30 needed (21 short)');
    expect(describeEvidence('time_allowance', evidence, new Date('2026-12-02T12:00:00Z'))).toBe(
      'Due 3 Dec 2026: 1 day left, 30 needed (29 short)',
    );
    expect(describeEvidence('time_allowance', evidence, new Date('2026-12-03T12:00:00Z'))).toBe(
      'Due 3 Dec 2026: 0 days left, 30 needed (30 short)',
    );
  });

  it('says overdue once the due date has passed', () => {
    const evidence = { dueAt, minimumDays: 5 };
    expect(describeEvidence('time_allowance', evidence, new Date('2026-12-04T12:00:00Z'))).toBe(
      'Due 3 Dec 2026: overdue by 1 day, 5 needed (6 short)',
    );
    expect(describeEvidence('time_allowance', evidence, new Date('2026-12-10T00:00:00Z'))).toBe(
      'Due 3 Dec 2026: overdue by 7 days, 5 needed (12 short)',
    );
  });

  it('names no shortfall when the time left is now enough', () => {
    expect(describeEvidence('time_allowance', { dueAt, minimumDays: 9 }, now)).toBe('Due 3 Dec 2026: 9 days left, 9 needed');
    expect(describeEvidence('time_allowance', { dueAt, minimumDays: 1 }, now)).toBe('Due 3 Dec 2026: 9 days left, 1 needed');
  });

  it('accepts a Date or numbers given as text', () => {
    expect(describeEvidence('time_allowance', { dueAt: new Date(dueAt), minimumDays: '30' }, now)).toBe(
      'Due 3 Dec 2026: 9 days left, 30 needed (21 short)',
    );
  });

  it('describes a duplicate course with the shared courses and the other certification', () => {
    const evidence = {
      otherCertificationId: 4,
      otherCertificationName: 'Fire safety',
      sharedCourses: ['FS1', 'FS2'],
      sharedCourseNames: ['Fire basics', 'Evacuation'],
    };
    expect(describeEvidence('duplicate_course', evidence, now)).toBe('Shares Fire basics, Evacuation with «Fire safety»');
    expect(describeEvidence('duplicate_course', { otherCertificationName: 'Fire safety', sharedCourses: ['FS1'] }, now)).toBe(
      'Shares FS1 with «Fire safety»',
    );
  });

  it('describes completion time unknown with the rule and the missing date', () => {
    expect(describeEvidence('completion_time_unknown', { rule: '2 months after hire date', missing: 'no hire date' }, now)).toBe(
      '2 months after hire date: no hire date',
    );
  });

  it('falls back to the stored summary for an unknown cause and for evidence that lacks what its type needs', () => {
    expect(describeEvidence('unknown', { imported: 'LEGACY: state 7' }, now, 'Imported: LEGACY: state 7')).toBe(
      'Imported: LEGACY: state 7',
    );
    expect(describeEvidence('unknown', { imported: 'LEGACY: state 7' }, now)).toBe('Imported: LEGACY: state 7');
    expect(describeEvidence('time_allowance', {}, now, 'time_allowance evidence')).toBe('time_allowance evidence');
    expect(describeEvidence('time_allowance', { dueAt: 'not a date', minimumDays: 3 }, now, 'stored')).toBe('stored');
    expect(describeEvidence('time_allowance', { dueAt, minimumDays: 2.5 }, now, 'stored')).toBe('stored');
    expect(describeEvidence('duplicate_course', { otherCertificationName: 'X', sharedCourseNames: [] }, now, 'stored')).toBe('stored');
    expect(describeEvidence('completion_time_unknown', null, now, 'stored')).toBe('stored');
    expect(describeEvidence('duplicate_course', ['not', 'an', 'object'], now, 'stored')).toBe('stored');
  });

  it('counts whole days rounded down, as the sync does', () => {
    expect(daysLeft(new Date('2026-11-25T11:59:59Z'), now, 'UTC')).toBe(0);
    expect(daysLeft(new Date('2026-11-25T12:00:00Z'), now, 'UTC')).toBe(1);
    expect(daysLeft(new Date('2026-11-24T11:59:59Z'), now, 'UTC')).toBe(-1);
  });

  it('counts the days left and names the due date in the reader’s zone', () => {
    // The end of 3 Dec in New York is 04:59:59.999 on 4 Dec in UTC.
    const due = { dueAt: '2026-12-04T04:59:59.999Z', minimumDays: 1 };
    const at = new Date('2026-12-04T02:00:00Z'); // 21:00 on 3 Dec in New York
    expect(describeIn('time_allowance', due, at, '', 'America/New_York')).toBe('Due 3 Dec 2026: 0 days left, 1 needed (1 short)');
    expect(describeIn('time_allowance', due, at, '', 'Asia/Kathmandu')).toBe('Due 4 Dec 2026: 0 days left, 1 needed (1 short)');
  });
});
