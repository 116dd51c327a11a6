import { and, asc, eq, gt, max } from 'drizzle-orm';
import type { Queryable } from '../db/client.ts';
import { alerts } from '../db/schema/index.ts';
import type { AlertEvent, AlertEventKind, AlertRow } from './lifecycle.ts';

/** Alert changes re-read after one gap at most (a subscriber that missed more catches up through Query.alerts). */
export const GAP_CATCH_UP_LIMIT = 1_000;

/** The event a stored alert stands for when it is re-read after a gap (its exact last transition is not kept). */
function kindOf(row: AlertRow): AlertEventKind {
  if (row.status === 'RESOLVED') return 'RESOLVED';
  if (row.status === 'ACKNOWLEDGED') return 'ACKNOWLEDGED';
  return row.occurrences > 1 ? 'UPDATED' : 'OPENED';
}

/**
 * A plant's alert events for one subscriber that survive a lost LISTEN connection: `subscribe(onGap)` gives the live
 * events; when the pub/sub says events may have been missed (onGap), the alerts changed since the last one this
 * subscriber saw (by `seq`, the order Query.alerts uses) are re-read from the database and delivered in order, and
 * live events already covered are skipped. Reading the live source stays pull-based, so its bounded queue (and the
 * slow-consumer rule) still applies.
 */
export async function alertEventsWithCatchUp(
  q: Queryable,
  plantId: number,
  subscribe: (onGap: () => void) => AsyncIterableIterator<AlertEvent>,
): Promise<AsyncIterableIterator<AlertEvent>> {
  let signalGap: () => void = () => {};
  let gapSignal = new Promise<void>((resolve) => (signalGap = resolve));
  const source = subscribe(() => signalGap());
  const [{ top }] = await q.db
    .select({ top: max(alerts.seq) })
    .from(alerts)
    .where(eq(alerts.plantId, plantId));
  let watermark = Number(top ?? 0);
  const missed: AlertEvent[] = [];
  let pending: Promise<IteratorResult<AlertEvent>> | null = null;
  let finished = false;
  const iterator: AsyncIterableIterator<AlertEvent> = {
    [Symbol.asyncIterator]() {
      return iterator;
    },
    async next(): Promise<IteratorResult<AlertEvent>> {
      for (;;) {
        if (finished) return { value: undefined, done: true };
        const m = missed.shift();
        if (m) {
          if (Number(m.alert.seq) <= watermark) continue;
          watermark = Number(m.alert.seq);
          return { value: m, done: false };
        }
        pending ??= source.next();
        const r = await Promise.race([pending.then((x) => ({ x })), gapSignal.then(() => null)]);
        if (r === null) {
          gapSignal = new Promise<void>((resolve) => (signalGap = resolve));
          try {
            const rows = await q.db
              .select()
              .from(alerts)
              .where(and(eq(alerts.plantId, plantId), gt(alerts.seq, watermark)))
              .orderBy(asc(alerts.seq))
              .limit(GAP_CATCH_UP_LIMIT);
            for (const row of rows) missed.push({ kind: kindOf(row), alert: row });
          } catch {
            // The database is away again: the next gap (or Query.alerts) catches up.
          }
          continue;
        }
        pending = null;
        if (r.x.done) {
          finished = true;
          return r.x;
        }
        if (Number(r.x.value.alert.seq) <= watermark) continue;
        watermark = Number(r.x.value.alert.seq);
        return r.x;
      }
    },
    async return(): Promise<IteratorResult<AlertEvent>> {
      finished = true;
      signalGap();
      await source.return?.();
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
