import type { Clock } from '../core/clock.ts';
import { type PeriodicTask, startPeriodic } from '../core/periodic.ts';
import type { Principal } from './roles.ts';

/** Why the open connections or streams of a credential were ended. */
export type CredentialEnd = 'CREDENTIALS_REVOKED' | 'CREDENTIALS_EXPIRED';

/** What a client is told when its connection or stream ends for its credential. */
export const CREDENTIAL_END_MESSAGE: Record<CredentialEnd, string> = {
  CREDENTIALS_REVOKED: 'The credentials of this connection were revoked.',
  CREDENTIALS_EXPIRED: 'The credentials of this connection have expired.',
};

/** How often the API keys of open sessions are checked against the database (revocations by other processes). */
export const SESSION_CHECK_MS = 1_000;

/** setTimeout takes at most 2^31-1 ms (24.8 days); a later expiry is re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Session {
  keyId: number | null;
  end: (why: CredentialEnd) => void;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

export interface CredentialSessionsOptions {
  clock: Clock;
  /** Which of these API keys are still active (exist and are not revoked). */
  activeKeys(ids: readonly number[]): Promise<Set<number>>;
  /** A check found keys revoked by another process: drop cached lookups so new requests are refused too. */
  onRevokedElsewhere(): void;
  onError(err: unknown): void;
  checkMs?: number;
}

/**
 * The open connections and streams (a WebSocket, an SSE subscription) of each credential in this process, so that
 * they end when the credential stops being valid instead of living on what it was worth when they opened:
 * - a key revoked through this process ends its sessions at once (`endKey`, called by AuthService.revokeKey);
 * - a key revoked by another process is found by a check of the open sessions' keys every SESSION_CHECK_MS (one
 *   statement, and only while sessions of API keys are open);
 * - a JWT's sessions end at its `exp`, by a timer.
 * The owner of a session decides what ending means (close a WebSocket with 4403, end an SSE stream with an error).
 */
export class CredentialSessions {
  private byKey = new Map<number, Set<Session>>();
  private check: PeriodicTask | null = null;
  private sessions = 0;

  constructor(private opts: CredentialSessionsOptions) {}

  /**
   * Registers a session of `principal`; `end` is called at most once, when its credential is revoked or expires.
   * Returns the function that unregisters it (call it when the session ends for any reason; calling it twice is fine).
   */
  open(principal: Principal, end: (why: CredentialEnd) => void): () => void {
    const { keyId, expiresAt } = principal;
    if (keyId === null && !expiresAt) return () => {};
    const session: Session = { keyId, end, closed: false };
    this.sessions++;
    if (keyId !== null) {
      let set = this.byKey.get(keyId);
      if (!set) this.byKey.set(keyId, (set = new Set()));
      set.add(session);
      this.check ??= startPeriodic(() => this.checkKeys(), this.opts.checkMs ?? SESSION_CHECK_MS, this.opts.onError);
    }
    if (expiresAt) this.arm(session, expiresAt.getTime());
    return () => this.close(session);
  }

  /** Ends every open session of an API key at once (the key was revoked through this process). */
  endKey(keyId: number): void {
    for (const session of [...(this.byKey.get(keyId) ?? [])]) this.finish(session, 'CREDENTIALS_REVOKED');
  }

  /** Open sessions in this process (tests, metrics). */
  get size(): number {
    return this.sessions;
  }

  /** Ends the sessions of every key that is no longer active in the database. */
  async checkKeys(): Promise<void> {
    const ids = [...this.byKey.keys()];
    if (ids.length === 0) return;
    const active = await this.opts.activeKeys(ids);
    const gone = ids.filter((id) => !active.has(id));
    if (gone.length === 0) return;
    this.opts.onRevokedElsewhere();
    for (const id of gone) this.endKey(id);
  }

  private arm(session: Session, at: number): void {
    const delay = at - this.opts.clock.now().getTime();
    session.timer = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.arm(session, at) : this.finish(session, 'CREDENTIALS_EXPIRED')),
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
    session.timer.unref();
  }

  private finish(session: Session, why: CredentialEnd): void {
    if (session.closed) return;
    this.close(session);
    session.end(why);
  }

  private close(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    this.sessions--;
    if (session.timer) clearTimeout(session.timer);
    if (session.keyId === null) return;
    const set = this.byKey.get(session.keyId);
    set?.delete(session);
    if (set?.size === 0) this.byKey.delete(session.keyId);
    if (this.byKey.size === 0 && this.check) {
      void this.check.stop();
      this.check = null;
    }
  }
}
