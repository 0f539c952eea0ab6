/** The entities this module owns (listed in src/database/entities.ts). */
export const LEARNERS_ENTITIES = [];
