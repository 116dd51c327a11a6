import { ManualClock } from '../core/clock.ts';
import { ALL_PLANTS } from '../core/scope.ts';
import type { MachineStatus } from '../db/schema/index.ts';
import type { Services } from '../services.ts';
import { ingestTelemetry } from '../telemetry/ingest.ts';
import { recordMachineStates, recordProduction } from '../telemetry/states.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { seededRandom } from '../core/random.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * The last 24 hours of the demo plant, so that a dashboard shows something real on first start: two alert rules,
 * machine states (mostly running, some idle gaps, a breakdown or two, one planned maintenance, one machine down
 * right now), hourly production counts, and temperature, spindle load and vibration every minute. Everything goes
 * through the same functions as live data, so the alert rules raise (and auto-resolve) alerts along the way.
 */
export async function seedDemoHistory(services: Services, plantId: number): Promise<void> {
  const rand = seededRandom(424242);
  const scope = ALL_PLANTS;
  // The whole history is recorded as of one instant, so the alert rules judge it as they would have live.
  const now = services.clock.now();
  const deps = { ...services, clock: new ManualClock(now) };
  const list = await liveTwin(services.database).machines({ plantIds: [plantId] });
  const end = Math.floor(now.getTime() / MINUTE) * MINUTE;
  const start = end - 24 * HOUR;

  await services.alerts.createRule({
    plantId,
    name: 'Spindle temperature high',
    kind: 'THRESHOLD',
    severity: 'WARNING',
    metric: 'temperature',
    comparator: 'GT',
    threshold: 78,
    forSeconds: 120,
  });
  await services.alerts.createRule({ plantId, name: 'Machine down', kind: 'MACHINE_STATE', severity: 'CRITICAL', status: 'DOWN', forSeconds: 300 });

  // State timelines: [from, status] segments per machine.
  const timelines = list.map((_m, i) => {
    const segs: { at: number; status: MachineStatus }[] = [{ at: start, status: 'RUNNING' }];
    let t = start;
    while (t < end) {
      t += (1 + rand() * 5) * HOUR;
      if (t >= end) break;
      const r = rand();
      const status: MachineStatus = r < 0.25 ? 'DOWN' : r < 0.6 ? 'IDLE' : 'RUNNING';
      segs.push({ at: t, status });
      const back = t + (status === 'DOWN' ? (15 + rand() * 60) * MINUTE : (10 + rand() * 40) * MINUTE);
      if (back < end) segs.push({ at: back, status: 'RUNNING' });
      t = back;
    }
    if (i === 6) segs.push({ at: end - 6 * HOUR, status: 'MAINTENANCE' }, { at: end - 4 * HOUR, status: 'RUNNING' });
    if (i === 2) segs.push({ at: end - 25 * MINUTE, status: 'DOWN' });
    return segs.sort((a, b) => a.at - b.at).filter((s, k, all) => k === 0 || s.status !== all[k - 1].status);
  });

  // Machine states in time order, so the alert rules see each breakdown begin and end.
  const allStates = timelines.flatMap((segs, i) => segs.map((s) => ({ machineId: list[i].id, status: s.status, at: new Date(s.at) })));
  allStates.sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const s of allStates) await recordMachineStates(deps, scope, [s]);

  const statusAt = (i: number, t: number) => {
    let st: MachineStatus = 'RUNNING';
    for (const s of timelines[i]) if (s.at <= t) st = s.status;
    return st;
  };

  // Hourly production: about 90% of ideal speed while running, 1-4% scrap.
  const counts = [];
  for (let i = 0; i < list.length; i++) {
    const cycle = list[i].idealCycleSeconds ?? 120;
    for (let h = start; h < end; h += HOUR) {
      let running = 0;
      for (let t = h; t < h + HOUR; t += MINUTE) if (statusAt(i, t) === 'RUNNING') running += 60;
      const total = Math.floor((running / cycle) * (0.85 + rand() * 0.1));
      if (total === 0) continue;
      const scrap = Math.min(total, Math.floor(total * (0.01 + rand() * 0.03) + rand()));
      counts.push({ machineId: list[i].id, at: new Date(h + HOUR - 1), good: total - scrap, scrap });
    }
  }
  await recordProduction(deps, scope, counts);

  // Telemetry every minute; one machine runs hot for a while in the afternoon.
  const ids: number[] = [];
  const metrics: string[] = [];
  const ts: number[] = [];
  const values: number[] = [];
  for (let i = 0; i < list.length; i++) {
    let temp = 45 + rand() * 10;
    for (let t = start; t < end; t += MINUTE) {
      const st = statusAt(i, t);
      const load = st === 'RUNNING' ? 55 + rand() * 35 : 2 + rand() * 3;
      const target = st === 'RUNNING' ? 50 + load * 0.25 : 32;
      temp += (target - temp) * 0.08 + (rand() - 0.5);
      const hot = i === 4 && t > end - 9 * HOUR && t < end - 8 * HOUR ? 16 : 0;
      ids.push(list[i].id, list[i].id, list[i].id);
      metrics.push('temperature', 'spindle_load', 'vibration');
      ts.push(t, t, t);
      values.push(Math.round((temp + hot) * 10) / 10, Math.round(load * 10) / 10, Math.round((st === 'RUNNING' ? 1.5 + rand() * 2 : 0.1) * 100) / 100);
    }
  }
  await ingestTelemetry(deps, scope, { batchId: 'demo-history', columns: { machineIds: ids, metrics, ts, values } });
}
