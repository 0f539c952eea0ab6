import type { EntityManager } from '@mikro-orm/postgresql';
import { ReferenceKind, type EntityClass } from '@mikro-orm/core';
import { sql, Sql } from './sql';

/** An entity's scalar columns: each column name with the property that holds it, and whether that is a Date. */
export function entityColumnNames(
  em: EntityManager,
  entity: EntityClass<object>,
): Array<{ column: string; property: string; isDate: boolean }> {
  return em
    .getMetadata()
    .get(entity.name)
    .props.filter((prop) => prop.kind === ReferenceKind.SCALAR && prop.persist !== false && prop.fieldNames?.length === 1)
    .map((prop) => ({ column: prop.fieldNames[0], property: prop.name, isDate: prop.runtimeType === 'Date' }));
}

/**
 * The select list of an entity's scalar columns, each named as its property (`c.full_name as
 * "fullName"`), read from the ORM's own metadata so that a typed SQL read of a whole row stays in
 * step with the entity.
 */
export function entityColumns(em: EntityManager, entity: EntityClass<object>, alias: string): Sql {
  return sql.raw(
    entityColumnNames(em, entity)
      .map(({ column, property }) => `${alias}.${quotedIdentifier(column)} as ${quotedIdentifier(property)}`)
      .join(', '),
  );
}

export function quotedIdentifier(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}
