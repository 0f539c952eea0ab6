import { Staff } from '../auth/staff.entity';

/** Every entity, listed explicitly so that discovery never depends on file globs. */
export const ENTITIES = [Staff];
