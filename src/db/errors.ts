/** PostgreSQL unique_violation (23505), from either driver, also when wrapped (drizzle puts the driver error in `cause`). */
export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === '23505';
}

/** The SQLSTATE of a database error, looking through up to four `cause` wrappers. */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** SQLSTATEs of a server that is going away or not taking connections (class 08, 57P01-57P03, 53300). */
const UNAVAILABLE_STATES = new Set(['08000', '08001', '08003', '08004', '08006', '08007', '57P01', '57P02', '57P03', '53300']);
/** Socket errors of a connection that broke or could not be made. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** What node-postgres says when a connection ends, breaks or cannot be made in time. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|connection timeout|^timeout expired$|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|not queryable|Client was closed/i;

/**
 * Whether `err` (or what it wraps, through `cause` and GraphQL's `originalError`) says the database is away: the
 * request may succeed when it is retried (the pool reconnects by itself).
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_CODES.has(code))) return true;
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
    e = (e as { originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return false;
}
