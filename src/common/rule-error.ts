import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { FieldError, fieldError } from './forms';

/** A rule about the data (a clash, a missing record) that the form shows next to one field. */
export class RuleError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The form errors for a RuleError; any other error is thrown on. */
export function ruleErrors(error: unknown): FieldError[] {
  if (error instanceof RuleError) return [fieldError(error.field, error.message)];
  throw error;
}

/** A unique index refused a write (raw SQL through MikroORM may surface PostgreSQL's error as is). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException || (error as { code?: unknown } | null)?.code === '23505';
}

/** Runs a write that may meet a unique index (two people saving at once), turning that into a RuleError. */
export async function uniqueOr<T>(write: Promise<T>, field: string, message: string): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (isUniqueViolation(error)) throw new RuleError(field, message);
    throw error;
  }
}
