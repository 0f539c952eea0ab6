import type { EntityManager } from '@mikro-orm/postgresql';
import { ReferenceKind, type EntityClass } from '@mikro-orm/core';
import { sql, Sql } from './sql';

/**
 * The select list of an entity's scalar columns, each named as its property (`c.full_name as
 * "fullName"`), read from the ORM's own metadata so that a typed SQL read of a whole row stays in
 * step with the entity.
 */
export function entityColumns(em: EntityManager, entity: EntityClass<object>, alias: string): Sql {
  const columns = em
    .getMetadata()
    .get(entity.name)
    .props.filter((prop) => prop.kind === ReferenceKind.SCALAR && prop.persist !== false && prop.fieldNames?.length === 1)
    .map((prop) => `${alias}.${quoted(prop.fieldNames[0])} as ${quoted(prop.name)}`);
  return sql.raw(columns.join(', '));
}

function quoted(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
