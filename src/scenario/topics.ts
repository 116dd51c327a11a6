import { defineTopic, reviveDates } from '../pubsub/index.ts';
import type { KpiDelta, OrderDelta } from './compare.ts';

/** What `scenarioUpdates(plantId)` subscribers receive. */
export interface ScenarioEvent {
  scenarioId: number;
  plantId: number;
  /** CREATED, RUN_FINISHED, RUN_FAILED, PROMOTED or DISCARDED. */
  kind: 'CREATED' | 'RUN_FINISHED' | 'RUN_FAILED' | 'PROMOTED' | 'DISCARDED';
  name: string;
  at: Date;
  /** True when the server opened it (alarm-triggered re-planning). */
  automatic: boolean;
  /** RUN_FINISHED: the impact against the live plan. */
  kpis: KpiDelta[] | null;
  /** RUN_FINISHED: orders that became late in the scenario (and by how much). */
  lateOrders: OrderDelta[] | null;
  movedOperations: number | null;
  /** RUN_FAILED: why. */
  error: string | null;
}

/** Scenario events of a plant (key: plant ID); reaches every server process. */
export const scenarioUpdatesTopic = defineTopic<ScenarioEvent>('scenarioUpdates', {
  shared: true,
  revive: (e: ScenarioEvent) => {
    const out = reviveDates(e, ['at']);
    for (const o of out.lateOrders ?? []) Object.assign(o, reviveDates(o, ['baseEnd', 'scenarioEnd']));
    return out;
  },
});
