/** The fields Node, driver and framework errors carry, read safely from anything thrown. */
interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  statusCode?: unknown;
  previous?: unknown;
  cause?: unknown;
  port?: unknown;
}

export function errorFields(error: unknown): ErrorFields {
  return error !== null && typeof error === 'object' ? error : {};
}

/** The error's code (`EADDRINUSE`, a PostgreSQL SQLSTATE), when it has one. */
export function errorCode(error: unknown): string | undefined {
  const { code } = errorFields(error);
  return typeof code === 'string' ? code : undefined;
}

/** The error's message, or the thing thrown as text. */
export function errorMessage(error: unknown): string {
  const { message } = errorFields(error);
  return typeof message === 'string' ? message : String(error);
}
