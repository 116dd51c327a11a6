import { type Clock, systemClock } from '../core/clock.ts';
import type { Config } from '../config.ts';
import type { Db, Queryable } from '../db/client.ts';
import type { apiKeys } from '../db/schema/index.ts';
import type { Logger } from '../logger.ts';
import { activeKeyIds, type CreatedKey, createApiKey, countActiveKeys, KeyStore } from './keys.ts';
import { createApiKeyFor, type NewKeyInput, revokeApiKeyFor } from './manage.ts';
import { JwtVerifier } from './jwt.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Principal } from './roles.ts';
import { type CredentialEnd, CredentialSessions } from './sessions.ts';

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string };
export type RecheckResult = { ok: true; principal: Principal } | { ok: false; end: CredentialEnd };

/** Authentication (API keys, PLANTGRAPH_ADMIN_KEY, optional JWTs) and per-caller rate limits. */
export class AuthService {
  readonly keys: KeyStore;
  readonly jwt: JwtVerifier;
  readonly limiter: RateLimiter;
  /** Open connections and streams per credential, ended when it is revoked or expires. */
  readonly sessions: CredentialSessions;

  constructor(
    private q: Queryable,
    config: Pick<Config, 'adminKey' | 'jwt' | 'limits'>,
    private decodePlant: (raw: string | number) => number | null,
    private clock: Clock = systemClock,
    logger?: Pick<Logger, 'warn'>,
  ) {
    this.keys = new KeyStore(q.db, config.adminKey, clock);
    this.jwt = new JwtVerifier(config.jwt, clock);
    this.limiter = new RateLimiter(config.limits.rateLimitPerMinute, config.limits.rateLimitBurst);
    this.sessions = new CredentialSessions({
      clock,
      activeKeys: (ids) => activeKeyIds(q.db, ids),
      onRevokedElsewhere: () => this.keys.invalidate(),
      onError: (err) => logger?.warn({ err: (err as Error).message }, 'could not check the API keys of open connections'),
    });
  }

  /** Parses `Bearer <credential>`; never echoes the credential back. */
  async authenticate(header: string | null | undefined): Promise<AuthResult> {
    if (!header?.trim()) return { ok: false, reason: 'Missing credentials: send "Authorization: Bearer <api key>".' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
    if (!m) return { ok: false, reason: 'Malformed Authorization header: expected "Bearer <api key>".' };
    const credential = m[1];
    let principal: Principal | null = null;
    if (this.jwt.enabled && JwtVerifier.looksLikeJwt(credential)) principal = await this.jwt.verify(credential, this.decodePlant);
    else principal = await this.keys.authenticate(credential);
    return principal ? { ok: true, principal } : { ok: false, reason: 'Invalid, expired or revoked credentials.' };
  }

  /**
   * The credential of an open connection, checked again for its next operation: the principal as of now, or why the
   * connection must end (`previous` is what the credential was when the connection opened).
   */
  async recheck(header: string | null | undefined, previous: Principal): Promise<RecheckResult> {
    const result = await this.authenticate(header);
    if (result.ok) return result;
    const expired = previous.expiresAt !== undefined && previous.expiresAt.getTime() <= this.clock.now().getTime();
    return { ok: false, end: expired ? 'CREDENTIALS_EXPIRED' : 'CREDENTIALS_REVOKED' };
  }

  /** Creates an API key on behalf of `principal` within its plants (see manage.ts); ValidationError otherwise. */
  createKey(principal: Principal, input: NewKeyInput): Promise<CreatedKey> {
    return createApiKeyFor(this.q, principal, input);
  }

  /**
   * Revokes a key `principal` may see, effective at once in this process (its open connections and streams end);
   * null (nothing changed) when it may not.
   */
  async revokeKey(principal: Principal, id: number | null): Promise<typeof apiKeys.$inferSelect | null> {
    const row = await revokeApiKeyFor(this.q.db, principal, id);
    if (row) {
      this.keys.invalidate();
      this.sessions.endKey(row.id);
    }
    return row;
  }

  /** Seconds to wait when the caller is over its rate, else 0. */
  rateLimit(p: Principal): number {
    return this.limiter.take(p.keyId !== null ? `key:${p.keyId}` : p.name, this.clock.now().getTime());
  }
}

/**
 * Secure by default: with no PLANTGRAPH_ADMIN_KEY and no active key in the database, create an ADMIN key and
 * return it so that start-up can print it once. Returns null when a key already exists.
 */
export async function bootstrapAdminKey(db: Db, adminKeyConfigured: boolean): Promise<string | null> {
  if (adminKeyConfigured) return null;
  if ((await countActiveKeys(db)) > 0) return null;
  const { key } = await createApiKey(db, { name: 'bootstrap-admin', role: 'ADMIN', createdBy: 'start-up' });
  return key;
}
