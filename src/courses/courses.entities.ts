/**
 * The entities this module owns (listed in src/database/entities.ts). None: courses and course
 * completions are read and written with SQL (completion uploads are set-based).
 */
export const COURSES_ENTITIES = [];
