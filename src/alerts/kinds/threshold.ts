import type { TelemetryRow } from '../../telemetry/events.ts';
import { type AlertRule, needsThreshold, OPS, type RuleKind, thresholdStep, trigger } from './kind.ts';

/** A telemetry metric compares true against a threshold, continuously for `forSeconds`. */
export const threshold: RuleKind = {
  kind: 'THRESHOLD',
  validate(input, p) {
    if (!input.metric?.trim()) p.add('metric', 'a THRESHOLD rule needs a metric');
    needsThreshold(input, p, 'THRESHOLD');
  },
  trigger: trigger({
    event: 'telemetryStored',
    inputs(rule, rows) {
      const out = new Map<number, TelemetryRow[]>();
      for (const r of rows) {
        if (r.plantId !== rule.plantId || r.metric !== rule.metric || (rule.machineId !== null && rule.machineId !== r.machineId)) continue;
        let list = out.get(r.machineId);
        if (!list) out.set(r.machineId, (list = []));
        list.push(r);
      }
      for (const list of out.values()) list.sort((a, b) => a.ts.getTime() - b.ts.getTime());
      return out;
    },
    evaluate: (rule, before, inputs: TelemetryRow[]) =>
      thresholdStep(
        rule,
        before,
        inputs.map((p) => ({ at: p.ts, value: p.value })),
      ),
  }),
  due: (_rule, pending, now) => ({ at: now, value: pending.value }),
  message: (rule: AlertRule, subject, b) =>
    `${rule.name}: ${rule.metric} on ${subject} is ${b.value} (${OPS[rule.comparator ?? 'GT']} ${rule.threshold}${rule.forSeconds ? ` for ${rule.forSeconds} s` : ''})`,
};
