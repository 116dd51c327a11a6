import { createFetch } from '@whatwg-node/fetch';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Limits } from '../config.ts';
import { PayloadTooLargeError, ValidationError } from '../core/errors.ts';
import type { Context } from './context.ts';

/**
 * File uploads (GraphQL multipart request spec, `File` arguments). yoga reads a multipart body with the Fetch API it
 * is given; the one built here (uploadFetchAPI) limits each file to PLANTGRAPH_MAX_UPLOAD_BYTES while it streams and
 * a request to one file, and useUploadLimits turns busboy's refusal into a clear 413 PAYLOAD_TOO_LARGE before anything
 * runs (so nothing is stored and no audit entry is written). An accepted file is held by yoga in memory (at most the
 * limit) until the request ends; resolvers read it as a stream with `uploadStream` or whole with `uploadBytes`.
 */

/** Files per multipart request. */
export const UPLOAD_FILES = 1;

/** What a `File` argument is: a Blob with a name (yoga's File). */
export interface UploadedFile {
  readonly name?: string;
  readonly size: number;
  readonly type?: string;
  stream(): ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Whether a value is an uploaded file (duck-typed: yoga's File is a ponyfill, not the global class). */
export function isUploadedFile(v: unknown): v is UploadedFile {
  return typeof v === 'object' && v !== null && typeof (v as UploadedFile).stream === 'function' && typeof (v as UploadedFile).size === 'number';
}

/** The Fetch API for createYoga: multipart bodies limited per file, files per request and form field size. */
export function uploadFetchAPI(limits: Pick<Limits, 'maxUploadBytes' | 'maxBodyBytes'>) {
  return createFetch({
    formDataLimits: { fileSize: limits.maxUploadBytes, files: UPLOAD_FILES, fieldSize: limits.maxBodyBytes, fields: 16 },
  });
}

/** How large a request body may be: a multipart request may carry a file of maxUploadBytes besides its fields. */
export function bodyLimit(contentType: string | undefined, limits: Pick<Limits, 'maxUploadBytes' | 'maxBodyBytes'>): number {
  return /^multipart\/form-data/i.test(contentType ?? '') ? limits.maxUploadBytes + limits.maxBodyBytes : limits.maxBodyBytes;
}

function tooLarge(limit: number): GraphQLError {
  return new GraphQLError(
    `The uploaded file is larger than the limit of ${limit.toLocaleString('en-US')} bytes (PLANTGRAPH_MAX_UPLOAD_BYTES); nothing was stored.`,
    { extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: limit, http: { status: 413, headers: { connection: 'close' } } } },
  );
}

/** Rewrites yoga's multipart refusals (file too large, too many files) as clear errors. */
export function useUploadLimits(limits: Pick<Limits, 'maxUploadBytes'>): Plugin<Context> {
  return {
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (err) {
          const message = err instanceof Error ? err.message : '';
          if (/File size limit exceeded/.test(message)) throw tooLarge(limits.maxUploadBytes);
          if (/Files limit exceeded/.test(message))
            throw new GraphQLError(`At most ${UPLOAD_FILES} file per request.`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
          throw err;
        }
      });
    },
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of base64 text, refused at `path` when it is not base64 or decodes to more than `maxBytes`. */
function base64Bytes(text: string, maxBytes: number, path: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) throw ValidationError.single(path, 'is not base64 (A-Z, a-z, 0-9, +, / and = padding)');
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  if ((compact.length / 4) * 3 - padding > maxBytes) throw new PayloadTooLargeError(path, maxBytes);
  return Buffer.from(compact, 'base64');
}

/**
 * An uploaded file (or base64 text) as a stream of bytes; more than `maxBytes` throws PayloadTooLargeError naming
 * `path` while it streams (an upload is limited by yoga already; the limit here also holds for base64 and callers
 * with a lower limit).
 */
export async function* uploadStream(value: UploadedFile | string, opts: { maxBytes: number; path: string }): AsyncGenerator<Uint8Array> {
  if (typeof value === 'string') {
    yield base64Bytes(value, opts.maxBytes, opts.path);
    return;
  }
  if (value.size > opts.maxBytes) throw new PayloadTooLargeError(opts.path, opts.maxBytes);
  const reader = value.stream().getReader();
  let total = 0;
  try {
    for (;;) {
      const { done, value: bytes } = await reader.read();
      if (done) return;
      total += bytes.byteLength;
      if (total > opts.maxBytes) throw new PayloadTooLargeError(opts.path, opts.maxBytes);
      yield bytes;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** An uploaded file (or base64 text) whole, within `maxBytes` (PayloadTooLargeError otherwise). */
export async function uploadBytes(value: UploadedFile | string, opts: { maxBytes: number; path: string }): Promise<Buffer> {
  if (typeof value === 'string') return base64Bytes(value, opts.maxBytes, opts.path);
  const parts: Uint8Array[] = [];
  for await (const b of uploadStream(value, opts)) parts.push(b);
  return Buffer.concat(parts);
}
