import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';

/** Decodes a Relay global ID of the expected type to its integer key; null when malformed or of another type. */
export function decodeId(typename: string, globalId: string): number | null {
  try {
    const { typename: t, id } = decodeGlobalID(globalId);
    if (t !== typename || !/^[1-9][0-9]{0,9}$/.test(id)) return null;
    const n = Number(id);
    return n <= 2_147_483_647 ? n : null;
  } catch {
    return null;
  }
}

export function encodeId(typename: string, id: number): string {
  return encodeGlobalID(typename, id);
}
