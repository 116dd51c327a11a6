import { needsThreshold, OPS, type RuleKind, thresholdStep, trigger } from './kind.ts';

/** One model output for one machine, as the `predictionsMade` write event carries it (raised by src/predict/watch.ts). */
interface PredictionInput {
  plantId: number;
  machineId: number;
  model: string;
  value: number;
  at: Date;
}

/**
 * A model's prediction for a machine compares true against a threshold, continuously for `forSeconds`. The models
 * that enabled PREDICTION rules name are scored when their machines' telemetry arrives and by a periodic sweep; each
 * round is a `predictionsMade` event.
 */
export const prediction: RuleKind = {
  kind: 'PREDICTION',
  validate(input, p) {
    if (!input.model?.trim()) p.add('model', 'a PREDICTION rule needs a model name');
    needsThreshold(input, p, 'PREDICTION');
  },
  trigger: trigger({
    event: 'predictionsMade',
    inputs(rule, rows: PredictionInput[]) {
      const out = new Map<number, PredictionInput[]>();
      for (const r of rows) {
        if (r.plantId !== rule.plantId || r.model !== rule.model || (rule.machineId !== null && rule.machineId !== r.machineId)) continue;
        let list = out.get(r.machineId);
        if (!list) out.set(r.machineId, (list = []));
        list.push(r);
      }
      return out;
    },
    evaluate: (rule, before, inputs: PredictionInput[]) => thresholdStep(rule, before, inputs),
  }),
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule, subject, b) => `${rule.name}: ${rule.model} for ${subject} is ${b.value} (${OPS[rule.comparator ?? 'GT']} ${rule.threshold})`,
};
