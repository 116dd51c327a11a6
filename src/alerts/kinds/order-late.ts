import type { RuleKind } from './kind.ts';

/**
 * An order is planned to finish after its due date: evaluated whenever the plant's current schedule changes
 * (AlertService.evaluateOrderLateness, called by the schedule service), one alert per late order.
 */
export const orderLate: RuleKind = {
  kind: 'ORDER_LATE',
  evaluatedOnCall: true,
  validate(input, p) {
    if (input.machineId != null) p.add('machineId', 'an ORDER_LATE rule applies to orders, not machines');
  },
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule, subject) => `${rule.name}: ${subject} is late`,
};
