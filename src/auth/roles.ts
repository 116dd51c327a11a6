export const ROLES = ['VIEWER', 'OPERATOR', 'PLANNER', 'ENGINEER', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

/** Each role can do everything the roles before it can. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Who is calling, as established from an API key, a JWT or PLANTGRAPH_ADMIN_KEY. */
export interface Principal {
  kind: 'api-key' | 'jwt' | 'admin-env';
  name: string;
  role: Role;
  keyId: number | null;
  /** null: every plant. */
  plantIds: readonly number[] | null;
}

export function canSeePlant(p: Principal, plantId: number): boolean {
  return p.plantIds === null || p.plantIds.includes(plantId);
}
