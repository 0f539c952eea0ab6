/**
 * The entities this module owns (listed in src/database/entities.ts). None: learners, audiences
 * and their members are read and written with set-based SQL (uploads touch 100,000 rows at once).
 */
export const LEARNERS_ENTITIES = [];
