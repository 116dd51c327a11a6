import type { RuleKind } from './kind.ts';

/** An order is planned to finish after its due date. Stored now; evaluated once schedules exist. */
export const orderLate: RuleKind = {
  kind: 'ORDER_LATE',
  validate(input, p) {
    if (input.machineId != null) p.add('machineId', 'an ORDER_LATE rule applies to orders, not machines');
  },
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule, subject) => `${rule.name}: ${subject} is late`,
};
