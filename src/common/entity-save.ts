import type { EntityData, EntityName, FilterQuery, RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { uniqueOr } from './rule-error';

/** The field, and its message, that a form shows when a unique index refuses the save. */
export interface UniqueField {
  field: string;
  message: string;
}

/**
 * Adds an entity in a unit of work of its own (the page's copy keeps what was read if the save
 * fails); the unique index decides, also for two people saving at once.
 */
export async function insertUnique<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  data: RequiredEntityData<T>,
  unique: UniqueField,
): Promise<T> {
  const fork = em.fork();
  const created = fork.create(entity, data);
  await uniqueOr(fork.flush(), unique.field, unique.message);
  return created;
}

/** Changes an entity the same way as insertUnique adds one. */
export async function updateUnique<T extends object>(
  em: EntityManager,
  entity: EntityName<T>,
  where: FilterQuery<T>,
  data: EntityData<T>,
  unique: UniqueField,
): Promise<void> {
  const fork = em.fork();
  const found: T = await fork.findOneOrFail(entity, where);
  // em.assign's own type cannot be checked for an entity type left open.
  fork.assign(found, data as Parameters<typeof fork.assign<T>>[1]);
  await uniqueOr(fork.flush(), unique.field, unique.message);
}
