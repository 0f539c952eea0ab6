import { Injectable, NotFoundException, PipeTransform } from '@nestjs/common';

/**
 * The id in a path: a whole number from 1 to 2^53 − 1, or the page is not found. IdPipe
 * lets through negative and imprecise numbers that a bigint column refuses with an error.
 */
@Injectable()
export class IdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    const id = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(id) || id < 1) throw new NotFoundException();
    return id;
  }
}
