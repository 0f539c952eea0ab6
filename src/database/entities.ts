import { LoginAttempt } from '../auth/login-attempt.entity';
import { Staff } from '../auth/staff.entity';
import { Certification, CourseSet, CourseSetCourse } from '../certifications/certification.entity';
import { Course, CourseCompletion } from '../courses/course.entity';
import { Audience, AudienceMember, Learner } from '../learners/learner.entity';

/**
 * Every entity, listed explicitly so that discovery never depends on file globs. The other
 * features read and write with set-based SQL (lists of 100,000 rows, bulk actions, uploads), so
 * they own tables and migrations but no entities.
 */
export const ENTITIES = [
  Staff,
  Learner,
  Audience,
  AudienceMember,
  Course,
  CourseCompletion,
  Certification,
  CourseSet,
  CourseSetCourse,
  LoginAttempt,
];
