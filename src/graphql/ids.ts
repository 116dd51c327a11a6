export { decodeId, encodeId } from '../core/ids.ts';
