import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

/** Whether `key` is the canonical text of a positive int4 key (what encodeId produces): no sign, zeros, exponents. */
export function canonicalKey(key: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(key) && Number(key) <= 2_147_483_647;
}

/** Decodes a Relay global ID of the expected type to its integer key; null when malformed, not canonical or of another type. */
export function decodeId(typename: string, globalId: string): number | null {
  try {
    const { typename: t, id } = decodeGlobalID(globalId);
    return t === typename && canonicalKey(id) ? Number(id) : null;
  } catch {
    return null;
  }
}

export function encodeId(typename: string, id: number): string {
  return encodeGlobalID(typename, id);
}
