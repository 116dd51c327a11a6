import type { AlertRuleKind } from '../../db/schema/index.ts';
import type { RuleKind } from './kind.ts';
import { machineState } from './machine-state.ts';
import { orderLate } from './order-late.ts';
import { prediction } from './prediction.ts';
import { threshold } from './threshold.ts';

export * from './kind.ts';

/** Every kind of alert rule, by its enum value. */
export const RULE_KINDS: Record<AlertRuleKind, RuleKind> = {
  THRESHOLD: threshold,
  MACHINE_STATE: machineState,
  PREDICTION: prediction,
  ORDER_LATE: orderLate,
};
