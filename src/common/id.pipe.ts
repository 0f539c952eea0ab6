import { Injectable, NotFoundException, PipeTransform } from '@nestjs/common';

/** The largest value of a PostgreSQL `integer` (serial) column. */
const MAX_INTEGER = 2 ** 31 - 1;

function pathId(value: string, max: number): number {
  const id = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > max) throw new NotFoundException();
  return id;
}

/**
 * The id in a path of a row whose key is an `integer` (serial): a whole number from 1 to 2^31 − 1,
 * or the page is not found. Statements bind the id as a parameter of the key's type, which refuses
 * anything larger with an error rather than finding nothing.
 */
@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    return pathId(value, MAX_INTEGER);
  }
}

/** The id in a path of a row whose key is a `bigint` (bigserial): a whole number from 1 to 2^53 − 1. */
@Injectable()
export class BigIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    return pathId(value, Number.MAX_SAFE_INTEGER);
  }
}
