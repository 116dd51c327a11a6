import { needsThreshold, OPS, type RuleKind } from './kind.ts';

/**
 * A model's prediction for a machine compares true against a threshold. Rules are validated and stored now; the
 * trigger arrives with stored predictions (a `predictionsStored` write event).
 */
export const prediction: RuleKind = {
  kind: 'PREDICTION',
  notEvaluated: 'PREDICTION rules are stored but not evaluated: PlantGraph stores no model predictions yet, so they never raise an alert.',
  validate(input, p) {
    if (!input.model?.trim()) p.add('model', 'a PREDICTION rule needs a model name');
    needsThreshold(input, p, 'PREDICTION');
  },
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule, subject, b) => `${rule.name}: ${rule.model} for ${subject} is ${b.value} (${OPS[rule.comparator ?? 'GT']} ${rule.threshold})`,
};
