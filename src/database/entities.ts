import { Staff } from '../auth/staff.entity';

/**
 * Every entity, listed explicitly so that discovery never depends on file globs. The other
 * features read and write with set-based SQL (lists of 100,000 rows, bulk actions, uploads), so
 * they own tables and migrations but no entities.
 */
export const ENTITIES = [Staff];
