import { UniqueConstraintViolationException } from '@mikro-orm/core';

/** A unique index refused a write (raw SQL through MikroORM may surface PostgreSQL's error as is). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException || (error as { code?: unknown } | null)?.code === '23505';
}
