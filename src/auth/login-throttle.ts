import { isIPv4, isIPv6 } from 'node:net';

/**
 * Failed-authentication throttle per client address. After `limit` failures from one address within `windowMs`
 * (counted from the first of them), every further attempt from that address is refused until the window ends,
 * without looking at the credential, so a correct guess is refused like a wrong one. It counts addresses, never keys:
 * an attacker can block the addresses it sends from, never a key (the same key keeps working from every other
 * address). A successful authentication does not clear the count, so a caller with one valid key cannot interleave it
 * to keep guessing. Blocked attempts are not counted (the block ends on time even under a flood).
 *
 * The table holds at most `maxEntries` addresses: expired windows are dropped first, then the oldest entries.
 */
export class LoginThrottle {
  private entries = new Map<string, { failures: number; since: number }>();

  constructor(
    private limit: number,
    private windowMs: number,
    private maxEntries = 10_000,
  ) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Addresses in the table (for tests and diagnostics). */
  get size(): number {
    return this.entries.size;
  }

  /** 0 when `address` may try to authenticate now, else the seconds until it may. Unknown addresses are not throttled. */
  wait(address: string | null | undefined, now: number): number {
    if (!this.enabled || !address) return 0;
    const e = this.entries.get(address);
    if (!e) return 0;
    if (now - e.since >= this.windowMs) {
      this.entries.delete(address);
      return 0;
    }
    return e.failures >= this.limit ? Math.max(1, Math.ceil((e.since + this.windowMs - now) / 1000)) : 0;
  }

  /** Records a failed authentication from `address`. */
  failed(address: string | null | undefined, now: number): void {
    if (!this.enabled || !address) return;
    const e = this.entries.get(address);
    if (e && now - e.since < this.windowMs) {
      e.failures++;
      return;
    }
    // A new window goes to the end of the map, so the map stays ordered by window start (oldest first).
    this.entries.delete(address);
    this.makeRoom();
    this.entries.set(address, { failures: 1, since: now });
  }

  /** The map is ordered by window start, so expired windows come first; once none is left, the oldest live one goes. */
  private makeRoom(): void {
    for (const address of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) return;
      this.entries.delete(address);
    }
  }
}

/**
 * The throttling key of a client address: an IPv4 address as it is (also when IPv4-mapped, `::ffff:10.0.0.1`), an
 * IPv6 address by its /64 network (one host usually holds a whole /64); null for anything else.
 */
export function addressKey(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let a = raw.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(a);
  if (mapped) a = mapped[1];
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return null;
  return `${expandIPv6(a).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address (an embedded IPv4 tail becomes two groups), lower-case without leading zeros. */
function expandIPv6(a: string): string[] {
  let text = a.toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [b1, b2, b3, b4] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((b1 << 8) | b2).toString(16)}:${((b3 << 8) | b4).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => Number.parseInt(g, 16).toString(16));
}

/**
 * The client address of a request: the socket's peer address, or with `trustProxy` the last address of
 * X-Forwarded-For (the one the proxy in front appended; earlier entries are whatever the client sent). Headers are
 * never trusted otherwise.
 */
export function clientAddress(
  socketAddress: string | null | undefined,
  forwardedFor: string | string[] | null | undefined,
  trustProxy: boolean,
): string | null {
  if (trustProxy && forwardedFor) {
    const list = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    const last = addressKey(list[list.length - 1]);
    if (last) return last;
  }
  return addressKey(socketAddress);
}
