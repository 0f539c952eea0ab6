import { plainToInstance } from 'class-transformer';
import { validateSync, ValidateBy, ValidationError, ValidationOptions } from 'class-validator';

export interface FieldError {
  field: string;
  href: string;
  message: string;
}

export type FormResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[]; values: Record<string, unknown> };

export function fieldError(field: string, message: string): FieldError {
  return { field, href: `#${field}`, message };
}

/** Validates a posted form against a DTO class; the first message of each field, in field order. */
export function validateForm<T extends object>(dto: new () => T, body: unknown): FormResult<T> {
  const plain = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const value = plainToInstance(dto, plain, { excludeExtraneousValues: true });
  const errors = validateSync(value, { forbidUnknownValues: false, stopAtFirstError: true });
  if (errors.length === 0) return { ok: true, value };
  return { ok: false, errors: errors.map(toFieldError), values: plain };
}

function toFieldError(error: ValidationError): FieldError {
  const messages = Object.values(error.constraints ?? {});
  return fieldError(error.property, messages[0] ?? `Check ${error.property}`);
}

/** `{ field: message }` for inline messages next to each control. */
export function errorMap(errors: FieldError[]): Record<string, string> {
  return Object.fromEntries(errors.map((e) => [e.field, e.message]));
}

/**
 * At most `max` characters as PostgreSQL counts them (code points), for text bound for a varchar
 * column. class-validator's MaxLength does not count a variation selector, so 200 "❤️" (400 code
 * points) passed a limit of 200 and overflowed the column.
 */
export function MaxLength(max: number, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    { name: 'maxLength', constraints: [max], validator: { validate: (value) => typeof value === 'string' && [...value].length <= max } },
    options,
  );
}

/**
 * Several property decorators as one, applied as if written one above the other (the last
 * first), so that the order of a field's checks, and so its first message, stays the same.
 */
export function stacked(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (let i = decorators.length - 1; i >= 0; i--) decorators[i](target, key);
  };
}
