import type { Clock } from '../core/clock.ts';
import type { Queryable } from '../db/client.ts';
import { liveTwin } from './snapshot.ts';

/**
 * Machine names, cached: alert messages name machines, and bridges address machines by plant and machine name.
 * Names change rarely, so entries live `ttlMs`; a rename shows within that time. One directory per process, shared by
 * every capability that needs names.
 */
export class MachineDirectory {
  private byId = new Map<number, { name: string; at: number }>();
  private byName = new Map<string, number>();
  private namesAt = -Infinity;
  private loading: Promise<void> | null = null;

  constructor(
    private q: Queryable,
    private clock: Clock,
    private ttlMs = 5_000,
  ) {}

  /** Names of these machines (unknown IDs are left out). `q` may be an open transaction (PGlite waits otherwise). */
  async names(ids: readonly number[], q: Queryable = this.q): Promise<Map<number, string>> {
    const now = this.clock.now().getTime();
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const id of ids) {
      const hit = this.byId.get(id);
      if (hit && now - hit.at < this.ttlMs) out.set(id, hit.name);
      else missing.push(id);
    }
    if (missing.length > 0) {
      if (this.byId.size > 100_000) this.byId.clear();
      for (const m of await liveTwin(q).machines({ ids: missing })) {
        this.byId.set(m.id, { name: m.name, at: now });
        out.set(m.id, m.name);
      }
    }
    return out;
  }

  /**
   * Drops what the directory knows of these machines (renamed, moved or deleted here): their names are read again on
   * next use, and the next lookup by name reloads the name list. Other processes see the change within `ttlMs`.
   */
  forget(ids: readonly number[]): void {
    const gone = new Set(ids);
    for (const id of ids) this.byId.delete(id);
    for (const [key, id] of this.byName) if (gone.has(id)) this.byName.delete(key);
    this.namesAt = -Infinity;
  }

  /** The ID of a machine by plant and machine name if the directory has it now (no reload). */
  cachedId(plant: string, machine: string): number | undefined {
    return this.byName.get(`${plant}\u0000${machine}`);
  }

  /**
   * The ID of a machine by plant and machine name, or undefined. An unknown name reloads the directory, at most once
   * per `ttlMs`, so a machine created meanwhile is found.
   */
  async idByName(plant: string, machine: string): Promise<number | undefined> {
    const key = `${plant}\u0000${machine}`;
    const hit = this.byName.get(key);
    if (hit !== undefined || this.clock.now().getTime() - this.namesAt < this.ttlMs) return hit;
    await this.reloadNames();
    return this.byName.get(key);
  }

  private reloadNames(): Promise<void> {
    this.loading ??= liveTwin(this.q)
      .machineNames()
      .then((rows) => {
        this.byName = new Map(rows.map((r) => [`${r.plant}\u0000${r.machine}`, r.id]));
      })
      .finally(() => {
        this.namesAt = this.clock.now().getTime();
        this.loading = null;
      });
    return this.loading;
  }
}
