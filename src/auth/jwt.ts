import type { JWTPayload } from 'jose';
import { type Clock, systemClock } from '../core/clock.ts';
import { type Principal, ROLES, type Role } from './roles.ts';

export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM public key (RS256 or ES256). */
  publicKeyPem?: string;
  issuer?: string;
  audience?: string;
}

/**
 * Verifies bearer JWTs from a plant's identity provider. Claims: `role` (one of the roles), optional `plants`
 * (array of plant IDs, numeric or global), `sub` or `name` for the audit log.
 */
/** jose, loaded on first use: most deployments configure no JWTs, and start-up should not pay for it. */
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => (joseModule ??= import('jose'));

export class JwtVerifier {
  private key: Promise<Uint8Array | CryptoKey> | undefined;
  constructor(
    private opts: JwtOptions,
    private clock: Clock = systemClock,
  ) {
    if (opts.secret) this.key = Promise.resolve(new TextEncoder().encode(opts.secret));
    else if (opts.publicKeyPem) {
      const alg = /EC PUBLIC|BEGIN PUBLIC KEY-----\s*MFk/.test(opts.publicKeyPem) ? 'ES256' : 'RS256';
      this.key = jose().then((j) => j.importSPKI(opts.publicKeyPem!, alg));
    }
  }

  get enabled(): boolean {
    return this.key !== undefined;
  }

  static looksLikeJwt(token: string): boolean {
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
  }

  async verify(token: string, decodePlant: (raw: string | number) => number | null): Promise<Principal | null> {
    if (!this.key) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await (await jose()).jwtVerify(token, await this.key, {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        algorithms: this.opts.secret ? ['HS256'] : ['RS256', 'ES256'],
        currentDate: this.clock.now(),
      }));
    } catch {
      return null;
    }
    const role = payload.role;
    if (typeof role !== 'string' || !ROLES.includes(role as Role)) return null;
    let plantIds: number[] | null = null;
    if (payload.plants !== undefined) {
      if (!Array.isArray(payload.plants)) return null;
      plantIds = [];
      for (const raw of payload.plants) {
        const id = typeof raw === 'string' || typeof raw === 'number' ? decodePlant(raw) : null;
        if (id === null) return null;
        plantIds.push(id);
      }
    }
    const name = typeof payload.name === 'string' ? payload.name : typeof payload.sub === 'string' ? payload.sub : 'jwt';
    const principal: Principal = { kind: 'jwt', name: `jwt:${name}`, role: role as Role, keyId: null, plantIds };
    // Open connections of the token end at this instant (auth/sessions.ts); verify() refuses it from then on.
    if (typeof payload.exp === 'number') principal.expiresAt = new Date(payload.exp * 1000);
    return principal;
  }
}
