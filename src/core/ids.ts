import { PothosValidationError } from '@pothos/core';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { echo } from './errors.ts';

/** Longer global IDs are refused without decoding (ours are under 40 characters; decoding megabytes overflows the stack). */
export const GLOBAL_ID_MAX = 200;

/** decodeGlobalID for input of any size: a malformed or oversized ID is a PothosValidationError quoting at most a little of it. */
export function decodeGlobalIdSafely(globalId: string): { typename: string; id: string } {
  if (typeof globalId !== 'string' || globalId.length > GLOBAL_ID_MAX) throw new PothosValidationError(`Invalid global ID: ${echo(globalId)}`);
  try {
    return decodeGlobalID(globalId);
  } catch (err) {
    if (err instanceof PothosValidationError) throw new PothosValidationError(`Invalid global ID: ${echo(globalId)}`);
    throw err;
  }
}

/** Whether `key` is the canonical text of a positive int4 key (what encodeId produces): no sign, zeros, exponents. */
export function canonicalKey(key: string): boolean {
  return /^[1-9][0-9]{0,9}$/.test(key) && Number(key) <= 2_147_483_647;
}

/** Decodes a Relay global ID of the expected type to its integer key; null when malformed, not canonical or of another type. */
export function decodeId(typename: string, globalId: string): number | null {
  try {
    const { typename: t, id } = decodeGlobalIdSafely(globalId);
    return t === typename && canonicalKey(id) ? Number(id) : null;
  } catch {
    return null;
  }
}

export function encodeId(typename: string, id: number): string {
  return encodeGlobalID(typename, id);
}
