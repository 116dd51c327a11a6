import { createHash, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '../core/clock.ts';
import type { Config } from '../config.ts';
import type { Db, Queryable } from '../db/client.ts';
import type { apiKeys } from '../db/schema/index.ts';
import type { Logger } from '../logger.ts';
import { activeKeyIds, type BootstrapKey, type CreatedKey, createBootstrapKey, KeyStore } from './keys.ts';
export { type BootstrapKey, markBootstrapKeyShown } from './keys.ts';
import { createApiKeyFor, type NewKeyInput, revokeApiKeyFor } from './manage.ts';
import { JwtVerifier } from './jwt.ts';
import { LoginThrottle } from './login-throttle.ts';
import { RateLimiter } from './rate-limit.ts';
import type { Principal } from './roles.ts';
import { type CredentialEnd, CredentialSessions } from './sessions.ts';

/** A refusal with `retryAfter` is a throttled client address (429), else bad or missing credentials (401). */
/** Why authentication failed: nothing sent, not "Bearer <credential>", or a credential that is not (or no longer) valid. */
export type AuthFailure = 'throttled' | 'missing' | 'malformed' | 'refused';
export type AuthResult = { ok: true; principal: Principal } | { ok: false; failure: AuthFailure; reason: string; retryAfter?: number };
export type RecheckResult = { ok: true; principal: Principal } | { ok: false; end: CredentialEnd };

/** Authentication (API keys, PLANTGRAPH_ADMIN_KEY, optional JWTs) and per-caller rate limits. */
export class AuthService {
  readonly keys: KeyStore;
  readonly jwt: JwtVerifier;
  readonly limiter: RateLimiter;
  /** Failed authentications per client address (see login-throttle.ts). */
  readonly loginThrottle: LoginThrottle;
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
    this.loginThrottle = new LoginThrottle(config.limits.authFailureLimit, config.limits.authFailureWindowSeconds * 1000);
    this.sessions = new CredentialSessions({
      clock,
      activeKeys: (ids) => activeKeyIds(q.db, ids),
      onRevokedElsewhere: () => this.keys.invalidate(),
      onError: (err) => logger?.warn({ err: (err as Error).message }, 'could not check the API keys of open connections'),
    });
  }

  /**
   * Parses `Bearer <credential>`; never echoes the credential back. `address` (see clientAddress) is the caller's
   * client address: one that has failed too often recently is refused with `retryAfter` before the credential is
   * looked at, and a presented credential that is malformed or wrong counts as a failure of that address.
   */
  async authenticate(header: string | null | undefined, address?: string | null): Promise<AuthResult> {
    const now = this.clock.now().getTime();
    const wait = this.loginThrottle.wait(address, now);
    if (wait > 0)
      return { ok: false, failure: 'throttled', reason: `Too many failed authentication attempts from this address; retry in ${wait} s.`, retryAfter: wait };
    if (!header?.trim()) return { ok: false, failure: 'missing', reason: 'Missing credentials: send "Authorization: Bearer <api key>".' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
    if (!m) {
      this.loginThrottle.failed(address, now);
      return { ok: false, failure: 'malformed', reason: 'Malformed Authorization header: expected "Bearer <api key>".' };
    }
    const credential = m[1];
    let principal: Principal | null = null;
    if (this.jwt.enabled && JwtVerifier.looksLikeJwt(credential)) principal = await this.jwt.verify(credential, this.decodePlant);
    else principal = await this.keys.authenticate(credential);
    if (principal) return { ok: true, principal };
    this.loginThrottle.failed(address, now);
    return { ok: false, failure: 'refused', reason: 'Invalid, expired or revoked credentials.' };
  }

  /**
   * Checks a secret other than a principal's credential (the metrics key) under the same per-address throttle:
   * 'ok', 'denied', or the seconds the address has to wait. `presented` undefined: nothing was sent; null: something
   * unusable was sent (both denied; everything but undefined counts as a failure of the address).
   */
  checkSecret(presented: string | null | undefined, expected: string, address?: string | null): 'ok' | 'denied' | number {
    const now = this.clock.now().getTime();
    const wait = this.loginThrottle.wait(address, now);
    if (wait > 0) return wait;
    if (typeof presented === 'string' && safeEqual(presented, expected)) return 'ok';
    if (presented !== undefined) this.loginThrottle.failed(address, now);
    return 'denied';
  }

  /**
   * The credential of an open connection, checked again for its next operation: the principal as of now, or why the
   * connection must end (`previous` is what the credential was when the connection opened). Without a client address:
   * an accepted connection is not subject to the failed-login throttle, and its ending is not a failed login.
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

  /** Takes `operations` rate-limit tokens (all or none): seconds to wait when the caller is over its rate, else 0. */
  rateLimit(p: Principal, operations = 1): number {
    return this.limiter.take(rateKey(p), this.clock.now().getTime(), operations);
  }

  /** Gives back tokens taken by rateLimit for a request that was then refused as a whole. */
  refundRateLimit(p: Principal, operations: number): void {
    this.limiter.refund(rateKey(p), operations, this.clock.now().getTime());
  }
}

function rateKey(p: Principal): string {
  return p.keyId !== null ? `key:${p.keyId}` : p.name;
}

function safeEqual(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y) && a === b;
}

/**
 * Secure by default: with no PLANTGRAPH_ADMIN_KEY and no active key in the database (or only bootstrap keys that were
 * never shown), create an ADMIN key and return it so that start-up can print it once (after markBootstrapKeyShown).
 * Returns null when a usable key already exists.
 */
export async function bootstrapAdminKey(db: Db, adminKeyConfigured: boolean): Promise<BootstrapKey | null> {
  if (adminKeyConfigured) return null;
  return createBootstrapKey(db);
}
