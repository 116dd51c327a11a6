/**
 * Pub/sub topics, each defined once by the capability that publishes it, with its payload type and whether its events
 * cross processes (through PostgreSQL LISTEN/NOTIFY when several server processes share a database). A topic has one
 * channel per key (`alerts:<plantId>`); `revive` rebuilds what JSON lost (dates) when an event arrives from another
 * process, so subscribers see the same payload whichever process published it.
 */
export interface Topic<P> {
  readonly name: string;
  /** Events reach subscribers in every server process on the database, not only this one. */
  readonly shared: boolean;
  channel(key: number): string;
  revive(payload: unknown): P;
}

const registry = new Map<string, Topic<unknown>>();

export function defineTopic<P>(name: string, opts: { shared: boolean; revive?: (payload: any) => P }): Topic<P> {
  if (registry.has(name)) throw new Error(`topic ${name} is defined twice`);
  const topic: Topic<P> = {
    name,
    shared: opts.shared,
    channel: (key) => `${name}:${key}`,
    revive: opts.revive ?? ((p) => p as P),
  };
  registry.set(name, topic as Topic<unknown>);
  return topic;
}

/** The topic a channel belongs to (undefined for a channel of no defined topic). */
export function topicOfChannel(channel: string): Topic<unknown> | undefined {
  const i = channel.indexOf(':');
  return registry.get(i < 0 ? channel : channel.slice(0, i));
}

/** Turns the named fields of a JSON-decoded object back into Dates (null stays null). */
export function reviveDates<T extends object>(obj: T, fields: readonly (keyof T)[]): T {
  const out = { ...obj } as Record<keyof T, unknown>;
  for (const f of fields) {
    const v = out[f];
    if (typeof v === 'string' || typeof v === 'number') out[f] = new Date(v);
  }
  return out as T;
}
