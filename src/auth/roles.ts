import type { PlantScope } from '../core/scope.ts';
import { type Role, role } from '../db/schema/index.ts';

export type { Role };

/** The roles, lowest first (the database enum's order). */
export const ROLES: readonly Role[] = role.enumValues;

/** Each role can do everything the roles before it can. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Who is calling, as established from an API key, a JWT or PLANTGRAPH_ADMIN_KEY; `plantIds` null: every plant. */
export interface Principal extends PlantScope {
  kind: 'api-key' | 'jwt' | 'admin-env';
  name: string;
  role: Role;
  /** The API key's row (revocable); null for a JWT and PLANTGRAPH_ADMIN_KEY. */
  keyId: number | null;
  /** When the credential stops being valid (a JWT's `exp`); absent: it does not expire (an API key may be revoked). */
  expiresAt?: Date;
}
