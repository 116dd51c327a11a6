/**
 * onnxruntime sessions per model version, per process. A version's bytes never change, so a cached session is always
 * right; the cache only bounds memory: at most `max` sessions (least recently used dropped first), and a version's
 * session is dropped when it loses an alias in any process (the registry's alias events reach every process).
 */
import type * as ort from 'onnxruntime-node';
import { NotFoundError } from '../core/errors.ts';
import type { Queryable } from '../db/client.ts';
import { loadSession } from './onnx/inspect.ts';
import { modelBytes } from './registry.ts';

export class SessionCache {
  private sessions = new Map<number, Promise<ort.InferenceSession>>();
  /** Sessions created (loads), for tests and metrics. */
  loads = 0;

  constructor(
    private db: Queryable,
    private max = 32,
  ) {}

  get(modelId: number): Promise<ort.InferenceSession> {
    const cached = this.sessions.get(modelId);
    if (cached) {
      this.sessions.delete(modelId);
      this.sessions.set(modelId, cached);
      return cached;
    }
    const loading = this.load(modelId);
    this.sessions.set(modelId, loading);
    loading.catch(() => this.sessions.delete(modelId));
    while (this.sessions.size > this.max) this.drop(this.sessions.keys().next().value as number);
    return loading;
  }

  has(modelId: number): boolean {
    return this.sessions.has(modelId);
  }

  drop(modelId: number): void {
    const session = this.sessions.get(modelId);
    if (!session) return;
    this.sessions.delete(modelId);
    // Released once runs in flight are done with it (onnxruntime keeps the native session alive until then).
    session.then((s) => s.release()).catch(() => {});
  }

  async close(): Promise<void> {
    for (const id of [...this.sessions.keys()]) this.drop(id);
  }

  private async load(modelId: number): Promise<ort.InferenceSession> {
    const bytes = await modelBytes(this.db, modelId);
    if (!bytes) throw new NotFoundError('Model', String(modelId));
    this.loads++;
    return loadSession(bytes, { maxBytes: Number.MAX_SAFE_INTEGER });
  }
}
