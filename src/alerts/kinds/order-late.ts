import type { RuleKind } from './kind.ts';

/** An order is planned to finish after its due date. Stored now; evaluated once schedules exist. */
export const orderLate: RuleKind = {
  kind: 'ORDER_LATE',
  notEvaluated: 'ORDER_LATE rules are stored but not evaluated: PlantGraph has no schedule yet to say when an order will finish, so they never raise an alert.',
  validate(input, p) {
    if (input.machineId != null) p.add('machineId', 'an ORDER_LATE rule applies to orders, not machines');
  },
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule, subject) => `${rule.name}: ${subject} is late`,
};
