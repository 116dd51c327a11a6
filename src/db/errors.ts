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
