import { defineRelations } from 'drizzle-orm';
import * as schema from './schema/index.ts';

export const relations = defineRelations(schema, (r) => ({
  plants: {
    lines: r.many.lines({ from: r.plants.id, to: r.lines.plantId }),
    machines: r.many.machines({ from: r.plants.id, to: r.machines.plantId }),
    products: r.many.products({ from: r.plants.id, to: r.products.plantId }),
    orders: r.many.orders({ from: r.plants.id, to: r.orders.plantId }),
    schedules: r.many.schedules({ from: r.plants.id, to: r.schedules.plantId }),
    scenarios: r.many.scenarios({ from: r.plants.id, to: r.scenarios.plantId }),
  },
  lines: {
    plant: r.one.plants({ from: r.lines.plantId, to: r.plants.id, optional: false }),
    machines: r.many.machines({ from: r.lines.id, to: r.machines.lineId }),
  },
  machines: {
    plant: r.one.plants({ from: r.machines.plantId, to: r.plants.id, optional: false }),
    line: r.one.lines({ from: r.machines.lineId, to: r.lines.id, optional: false }),
    states: r.many.machineStates({ from: r.machines.id, to: r.machineStates.machineId }),
    maintenanceWindows: r.many.maintenanceWindows({ from: r.machines.id, to: r.maintenanceWindows.machineId }),
    scheduledOperations: r.many.scheduledOperations({ from: r.machines.id, to: r.scheduledOperations.machineId }),
  },
  machineStates: {
    machine: r.one.machines({ from: r.machineStates.machineId, to: r.machines.id, optional: false }),
  },
  products: {
    plant: r.one.plants({ from: r.products.plantId, to: r.plants.id, optional: false }),
    routing: r.many.routingSteps({ from: r.products.id, to: r.routingSteps.productId }),
  },
  routingSteps: {
    product: r.one.products({ from: r.routingSteps.productId, to: r.products.id, optional: false }),
    machines: r.many.machines({
      from: r.routingSteps.id.through(r.routingStepMachines.stepId),
      to: r.machines.id.through(r.routingStepMachines.machineId),
    }),
    machineTimes: r.many.routingStepMachines({ from: r.routingSteps.id, to: r.routingStepMachines.stepId }),
  },
  routingStepMachines: {
    machine: r.one.machines({ from: r.routingStepMachines.machineId, to: r.machines.id, optional: false }),
  },
  maintenanceWindows: {
    machine: r.one.machines({ from: r.maintenanceWindows.machineId, to: r.machines.id, optional: false }),
  },
  orders: {
    plant: r.one.plants({ from: r.orders.plantId, to: r.plants.id, optional: false }),
    product: r.one.products({ from: r.orders.productId, to: r.products.id, optional: false }),
    scheduledOperations: r.many.scheduledOperations({ from: r.orders.id, to: r.scheduledOperations.orderId }),
  },
  schedules: {
    plant: r.one.plants({ from: r.schedules.plantId, to: r.plants.id, optional: false }),
    job: r.one.jobs({ from: r.schedules.jobId, to: r.jobs.id }),
    operations: r.many.scheduledOperations({ from: r.schedules.id, to: r.scheduledOperations.scheduleId }),
    scenario: r.one.scenarios({ from: r.schedules.scenarioId, to: r.scenarios.id }),
  },
  scenarios: {
    plant: r.one.plants({ from: r.scenarios.plantId, to: r.plants.id, optional: false }),
    changes: r.many.scenarioChanges({ from: r.scenarios.id, to: r.scenarioChanges.scenarioId }),
    schedules: r.many.schedules({ from: r.scenarios.id, to: r.schedules.scenarioId }),
  },
  scenarioChanges: {
    scenario: r.one.scenarios({ from: r.scenarioChanges.scenarioId, to: r.scenarios.id, optional: false }),
  },
  scheduledOperations: {
    schedule: r.one.schedules({ from: r.scheduledOperations.scheduleId, to: r.schedules.id, optional: false }),
    order: r.one.orders({ from: r.scheduledOperations.orderId, to: r.orders.id }),
    scenarioOrder: r.one.scenarioChanges({ from: r.scheduledOperations.scenarioOrderId, to: r.scenarioChanges.id }),
    machine: r.one.machines({ from: r.scheduledOperations.machineId, to: r.machines.id, optional: false }),
  },
  operationPins: {
    order: r.one.orders({ from: r.operationPins.orderId, to: r.orders.id, optional: false }),
    machine: r.one.machines({ from: r.operationPins.machineId, to: r.machines.id }),
  },
  alertRules: {
    plant: r.one.plants({ from: r.alertRules.plantId, to: r.plants.id, optional: false }),
    machine: r.one.machines({ from: r.alertRules.machineId, to: r.machines.id }),
    alerts: r.many.alerts({ from: r.alertRules.id, to: r.alerts.ruleId }),
  },
  alerts: {
    plant: r.one.plants({ from: r.alerts.plantId, to: r.plants.id, optional: false }),
    rule: r.one.alertRules({ from: r.alerts.ruleId, to: r.alertRules.id, optional: false }),
    machine: r.one.machines({ from: r.alerts.machineId, to: r.machines.id }),
    order: r.one.orders({ from: r.alerts.orderId, to: r.orders.id }),
  },
  jobs: {
    plant: r.one.plants({ from: r.jobs.plantId, to: r.plants.id }),
    schedules: r.many.schedules({ from: r.jobs.id, to: r.schedules.jobId }),
  },
  datasets: {
    plant: r.one.plants({ from: r.datasets.plantId, to: r.plants.id }),
  },
}));

export type Relations = typeof relations;
