import { Staff } from '../auth/staff.entity';
import { LEARNERS_ENTITIES } from '../learners/learners.entities';
import { COURSES_ENTITIES } from '../courses/courses.entities';
import { CERTIFICATIONS_ENTITIES } from '../certifications/certifications.entities';
import { ASSIGNMENTS_ENTITIES } from '../assignments/assignments.entities';
import { LIFECYCLE_ENTITIES } from '../lifecycle/lifecycle.entities';

/** Every entity, listed explicitly so that discovery never depends on file globs. */
export const ENTITIES = [
  Staff,
  ...LEARNERS_ENTITIES,
  ...COURSES_ENTITIES,
  ...CERTIFICATIONS_ENTITIES,
  ...ASSIGNMENTS_ENTITIES,
  ...LIFECYCLE_ENTITIES,
];
