import type { MachineStateChange } from '../../telemetry/events.ts';
import { type PendingState, type RuleKind, type Step, trigger } from './kind.ts';

/** A machine has been in a status (default DOWN) for `forSeconds`. */
export const machineState: RuleKind = {
  kind: 'MACHINE_STATE',
  validate(input, p) {
    if (input.metric || input.comparator || input.threshold != null)
      p.add('kind', 'a MACHINE_STATE rule takes status and forSeconds, not metric/comparator/threshold');
  },
  trigger: trigger({
    event: 'machineStatesRecorded',
    inputs(rule, changes) {
      const out = new Map<number, MachineStateChange[]>();
      for (const c of changes) {
        if (c.plantId !== rule.plantId || (rule.machineId !== null && rule.machineId !== c.machineId)) continue;
        let list = out.get(c.machineId);
        if (!list) out.set(c.machineId, (list = []));
        list.push(c);
      }
      for (const list of out.values()) list.sort((a, b) => a.at.getTime() - b.at.getTime());
      return out;
    },
    evaluate(rule, before, inputs: MachineStateChange[], now): Step {
      let state: PendingState | null = before ? { ...before, value: null } : null;
      for (const c of inputs) {
        if (c.status === rule.status) {
          if (!state) state = { since: c.at, fired: false, value: null };
          else if (c.at < state.since) state.since = c.at; // a late report that it started earlier
        } else state = null;
      }
      let fire: Step['fire'] = null;
      if (state && !state.fired && (now.getTime() - state.since.getTime()) / 1000 >= rule.forSeconds) {
        state.fired = true;
        fire = { at: state.since, value: null };
      }
      return { state, fire, cleared: !state && before !== null };
    },
  }),
  due: (_rule, pending) => ({ at: pending.since, value: null }),
  message: (rule, subject, b) =>
    `${rule.name}: ${subject} is ${rule.status}${rule.forSeconds ? ` for more than ${rule.forSeconds} s` : ''} (since ${b.since.toISOString()})`,
};
