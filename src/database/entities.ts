import { LoginAttempt } from '../auth/login-attempt.entity';
import { Staff } from '../auth/staff.entity';
import { Certification, CourseSet, CourseSetCourse } from '../certifications/certification.entity';
import { Course, CourseCompletion } from '../courses/course.entity';
import { Audience, AudienceMember, Learner } from '../learners/learner.entity';

/**
 * Every entity, listed explicitly so that discovery never depends on file globs. Entities serve
 * forms, detail pages and small reads and writes; lists, uploads and bulk work stay set-based SQL.
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
