/**
 * PostgreSQL array literals for one bound parameter (`?::bigint[]`). The query builder would
 * expand a JavaScript array into a list of parameters, so arrays travel as one literal string.
 */
export function intArray(ids: readonly number[]): string {
  return `{${ids.map((id) => Math.trunc(id)).join(',')}}`;
}

export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => '"' + v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"').join(',')}}`;
}
