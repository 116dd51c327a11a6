import type { AlertRuleKind, alertRules, Comparator, MachineStatus } from '../../db/schema/index.ts';
import type { Problems } from '../../core/errors.ts';
import type { WriteEvents } from '../../events/hub.ts';

export type AlertRule = typeof alertRules.$inferSelect;

export interface AlertRuleInput {
  plantId: number;
  name: string;
  kind: AlertRuleKind;
  severity: AlertRule['severity'];
  machineId?: number | null;
  metric?: string | null;
  comparator?: Comparator | null;
  threshold?: number | null;
  forSeconds?: number | null;
  status?: MachineStatus | null;
  model?: string | null;
  autoResolve?: boolean | null;
  /** MACHINE_STATE rules on DOWN: open and run a re-planning scenario when a machine goes DOWN. */
  replan?: boolean | null;
  enabled?: boolean | null;
}

/** What the evaluator remembers of a subject's ongoing breach between batches. */
export interface PendingState {
  since: Date;
  fired: boolean;
  value: number | null;
}

/** The outcome of walking one subject's new inputs from its pending state. */
export interface Step {
  /** The breach still going on after the inputs, or null when there is none. */
  state: PendingState | null;
  /** The breach became an alert in these inputs: when and with which value. */
  fire: { at: Date; value: number | null } | null;
  /** The condition cleared (an alert of the rule and subject resolves itself if the rule says autoResolve). */
  cleared: boolean;
}

/** A write event a kind reacts to: which inputs of an event concern a rule (by machine), and how they change it. */
export interface Trigger<K extends keyof WriteEvents = keyof WriteEvents, I = unknown> {
  event: K;
  /** The inputs of one event that concern the rule, by machine, in time order. */
  inputs(rule: AlertRule, payload: WriteEvents[K]): Map<number, I[]>;
  evaluate(rule: AlertRule, before: PendingState | null, inputs: I[], now: Date): Step;
}

/** Ties a trigger's inputs to its event's payload type. */
export function trigger<K extends keyof WriteEvents, I>(t: Trigger<K, I>): Trigger {
  return t as unknown as Trigger;
}

/**
 * One kind of alert rule: what a rule of the kind needs, when it raises an alert, and what the alert says. A new kind
 * is one module in this folder, listed in index.ts.
 */
export interface RuleKind {
  kind: AlertRuleKind;
  /** Checks what a rule of this kind needs (adds to `p`). */
  validate(input: AlertRuleInput, p: Problems): void;
  /** What raises it; absent for kinds whose inputs do not exist yet (their rules are stored, not evaluated). */
  trigger?: Trigger;
  /** Evaluated by another capability's call rather than a write event (ORDER_LATE: when the current schedule changes). */
  evaluatedOnCall?: boolean;
  /** Kinds without a trigger: why their rules are not evaluated (shown as AlertRule.evaluationNote). */
  notEvaluated?: string;
  /** The breach a sweep raises when a pending state's forSeconds have passed with no further input. */
  due(rule: AlertRule, pending: PendingState, now: Date): { at: Date; value: number | null };
  message(rule: AlertRule, subject: string, breach: { at: Date; value: number | null; since: Date }): string;
}

/** A finite threshold is given. */
export function needsThreshold(input: AlertRuleInput, p: Problems, kind: string): void {
  if (!input.comparator) p.add('comparator', `a ${kind} rule needs a comparator`);
  if (input.threshold === null || input.threshold === undefined) p.add('threshold', `a ${kind} rule needs a threshold`);
  else if (!Number.isFinite(input.threshold)) p.add('threshold', 'must be a finite number');
}

export const OPS: Record<Comparator, string> = { GT: '>', GTE: '≥', LT: '<', LTE: '≤' };

export function compare(value: number, comparator: Comparator, threshold: number): boolean {
  switch (comparator) {
    case 'GT':
      return value > threshold;
    case 'GTE':
      return value >= threshold;
    case 'LT':
      return value < threshold;
    case 'LTE':
      return value <= threshold;
  }
}

/**
 * A value compared against the rule's threshold, continuously for `forSeconds`: walks a subject's new points in time
 * order from its pending state (THRESHOLD on telemetry, PREDICTION on model outputs).
 */
export function thresholdStep(rule: AlertRule, before: PendingState | null, points: readonly { at: Date; value: number }[]): Step {
  let state: PendingState | null = before ? { ...before } : null;
  let touched = false;
  let fire: Step['fire'] = null;
  for (const p of points) {
    if (compare(p.value, rule.comparator!, rule.threshold!)) {
      if (!state) state = { since: p.at, fired: false, value: p.value };
      state.value = p.value;
      touched = true;
      if ((p.at.getTime() - state.since.getTime()) / 1000 >= rule.forSeconds) {
        fire = { at: p.at, value: p.value };
        state.fired = true;
      }
    } else if (state) {
      state = null;
      touched = true;
    }
  }
  return { state, fire, cleared: !state && (before !== null || touched) };
}
