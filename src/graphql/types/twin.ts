import { rowsLoaded } from '../lookahead.ts';
import { machineStatus, orderStatus, plants } from '../../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { IMPORT_LIMITS, importPlant } from '../../twin/import.ts';
import { builder } from '../builder.ts';
import { visiblePlantId, visiblePlantsSql, visiblePlantsWhere } from '../access.ts';
import { listSize } from '../cost.ts';

/**
 * The twin's lists are as long as the import allows at most (a plant's lines, machines and products, a line's machines,
 * a product's routing steps, a step's machines): their declared sizes for the cost estimate, and the caps their
 * queries apply, so that no list returns more than it declares even for data written around the import.
 */
const L = IMPORT_LIMITS;
const STEPS_PER_PLANT = L.products * L.stepsPerProduct;
const STEP_MACHINES_PER_PLANT = STEPS_PER_PLANT * L.machinesPerStep;

export const MachineStatusEnum = builder.enumType('MachineStatus', { values: machineStatus.enumValues });

export const OrderStatusEnum = builder.enumType('OrderStatus', { values: orderStatus.enumValues });

export const Plant = builder.drizzleNode('plants', {
  name: 'Plant',
  select: { columns: { id: true } },
  authScopes: (row) => ({ plant: row.id }),
  id: { column: (p) => p.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    timezone: t.exposeString('timezone', { description: 'IANA time zone of the plant (shifts, calendars).' }),
    planningHorizonHours: t.exposeInt('planningHorizonHours', {
      description: 'How far ahead optimizeSchedule plans from its start; an order released later cannot be planned.',
    }),
    lines: t.relation('lines', {
      description: `At most ${L.lines} (the import limit).`,
      query: { orderBy: { id: 'asc' }, limit: L.lines },
      extensions: listSize({ max: L.lines, known: 'lines', perPlant: { max: L.lines, known: 'lines' } }),
    }),
    machines: t.relation('machines', {
      description: `At most ${L.machines.toLocaleString('en-US')} (the import limit).`,
      query: { orderBy: { id: 'asc' }, limit: L.machines },
      extensions: listSize({ max: L.machines, known: 'machines', perPlant: { max: L.machines, known: 'machines' } }),
    }),
    products: t.relation('products', {
      description: `At most ${L.products.toLocaleString('en-US')} (the import limit).`,
      query: { orderBy: { id: 'asc' }, limit: L.products },
      extensions: listSize({ max: L.products, known: 'products', perPlant: { max: L.products, known: 'products' } }),
    }),
    orders: t.relatedConnection(
      'orders',
      {
        description: 'Orders by due date (then id). Filter by status.',
        args: { status: t.arg({ type: [OrderStatusEnum], required: false }) },
        query: (args) => ({
          // A filter is a set: each status once, however often a client repeats it (one SQL parameter each).
          where: args.status && args.status.length > 0 ? { status: { in: [...new Set(args.status)] } } : undefined,
          orderBy: { dueAt: 'asc', id: 'asc' },
        }),
        totalCount: true,
      },
      { name: 'OrderConnection' },
      { name: 'OrderEdge' },
    ),
  }),
});

export const Line = builder.drizzleNode('lines', {
  name: 'Line',
  // Reached only through its plant (checked where a query enters it) or through node(id) (checked there).
  select: { columns: { id: true, plantId: true } },
  id: { column: (l) => l.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    plant: t.relation('plant'),
    machines: t.relation('machines', {
      description: `At most ${L.machinesPerLine.toLocaleString('en-US')} (the import limit).`,
      query: { orderBy: { id: 'asc' }, limit: L.machinesPerLine },
      extensions: listSize({ max: L.machinesPerLine, known: 'machinesPerLine', perPlant: { max: L.machines, known: 'machines' } }),
    }),
  }),
});

export const Machine = builder.drizzleNode('machines', {
  name: 'Machine',
  // Reached only through its plant (checked where a query enters it) or through node(id) (checked there).
  select: { columns: { id: true, plantId: true } },
  id: { column: (m) => m.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.exposeString('kind', { nullable: true }),
    idealCycleSeconds: t.exposeFloat('idealCycleSeconds', { nullable: true, description: 'Ideal time for one unit, in seconds (OEE performance).' }),
    rateFactor: t.exposeFloat('rateFactor', { description: "Speed against the routings' times, as the scheduler plans it (1 = as routed)." }),
    status: t.expose('status', { type: MachineStatusEnum }),
    statusSince: t.expose('statusSince', { type: 'DateTime', nullable: true }),
    line: t.relation('line'),
    plant: t.relation('plant'),
  }),
});

export const Product = builder.drizzleNode('products', {
  name: 'Product',
  // Reached only through its plant (checked where a query enters it) or through node(id) (checked there).
  select: { columns: { id: true, plantId: true } },
  id: { column: (p) => p.id },
  fields: (t) => ({
    name: t.exposeString('name'),
    plant: t.relation('plant'),
    routing: t.relation('routing', {
      description: `Steps in routing order; at most ${L.stepsPerProduct} (the import limit).`,
      query: { orderBy: { stepIndex: 'asc' }, limit: L.stepsPerProduct },
      extensions: listSize({ max: L.stepsPerProduct, known: 'stepsPerProduct', perPlant: { max: STEPS_PER_PLANT, known: 'steps' } }),
    }),
  }),
});

builder.drizzleObject('routingSteps', {
  name: 'RoutingStep',
  fields: (t) => ({
    index: t.exposeInt('stepIndex', { description: 'Position in the routing, starting at 1.' }),
    machines: t.relation('machines', {
      description: `Machines that can run this step; at most ${L.machinesPerStep} (the import limit).`,
      query: { orderBy: { id: 'asc' }, limit: L.machinesPerStep },
      extensions: listSize({ max: L.machinesPerStep, known: 'machinesPerStep', perPlant: { max: STEP_MACHINES_PER_PLANT, known: 'stepMachines' } }),
    }),
    minutesPerUnit: t.exposeFloat('minutesPerUnit'),
    setupMinutes: t.exposeFloat('setupMinutes'),
    machineTimes: t.relation('machineTimes', {
      description: "The machines whose own time for this step differs from the step's; every other eligible machine takes minutesPerUnit and setupMinutes.",
      query: { where: { minutesPerUnit: { isNotNull: true } }, orderBy: { machineId: 'asc' }, limit: L.machinesPerStep },
      extensions: listSize({ max: L.machinesPerStep, known: 'machinesPerStep', perPlant: { max: STEP_MACHINES_PER_PLANT, known: 'stepMachines' } }),
    }),
  }),
});

builder.drizzleObject('routingStepMachines', {
  name: 'MachineTime',
  description: "One machine's own time for a routing step.",
  fields: (t) => ({
    machine: t.relation('machine'),
    minutesPerUnit: t.float({ select: { columns: { minutesPerUnit: true } }, resolve: (r) => r.minutesPerUnit ?? 0 }),
    setupMinutes: t.float({ select: { columns: { setupMinutes: true } }, resolve: (r) => r.setupMinutes ?? 0 }),
  }),
});

export const Order = builder.drizzleNode('orders', {
  name: 'Order',
  // Reached only through its plant (checked where a query enters it) or through node(id) (checked there).
  select: { columns: { id: true, plantId: true } },
  id: { column: (o) => o.id },
  fields: (t) => ({
    code: t.exposeString('code'),
    product: t.relation('product'),
    plant: t.relation('plant'),
    quantity: t.exposeInt('quantity'),
    releaseAt: t.expose('releaseAt', { type: 'DateTime', nullable: true }),
    dueAt: t.expose('dueAt', { type: 'DateTime' }),
    priority: t.exposeInt('priority'),
    status: t.expose('status', { type: OrderStatusEnum }),
    statusChangedAt: t.expose('statusChangedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the status last changed; null: PLANNED since creation.',
    }),
    releasedAt: t.expose('releasedAt', { type: 'DateTime', nullable: true, description: 'When it became RELEASED.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When it became IN_PROGRESS.' }),
    doneAt: t.expose('doneAt', { type: 'DateTime', nullable: true, description: 'When it became DONE.' }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true, description: 'When it became CANCELLED.' }),
  }),
});

builder.queryFields((t) => ({
  plants: t.drizzleConnection(
    {
      type: 'plants',
      totalCount: (_p, _a, ctx) => ctx.db.$count(plants, visiblePlantsSql(ctx, plants.id)),
      resolve: async (query, _root, _args, ctx, info) => {
        const rows = await ctx.db.query.plants.findMany(query({ where: visiblePlantsWhere(ctx), orderBy: { id: 'asc' } }));
        await rowsLoaded(ctx, info, rows);
        return rows;
      },
    },
    { name: 'PlantConnection' },
    { name: 'PlantEdge' },
  ),
  plant: t.drizzleField({
    type: 'plants',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx, info) => {
      const id = visiblePlantId(ctx, String(args.id));
      if (id === null) return null;
      const row = await ctx.db.query.plants.findFirst(query({ where: { id } }));
      await rowsLoaded(ctx, info, row);
      return row;
    },
  }),
}));

const MachineInput = builder.inputType('MachineInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.string(),
    idealCycleSeconds: t.float({ description: 'Ideal seconds per unit, used for OEE performance.' }),
    rateFactor: t.float({ description: "Speed against the routings' times (0 < x ≤ 10, default 1): 0.8 takes 1/0.8 of the time." }),
  }),
});
const LineInput = builder.inputType('LineInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    machines: t.field({ type: [MachineInput], required: true }),
  }),
});
const MachineTimeInput = builder.inputType('MachineTimeInput', {
  description: "One eligible machine's own time for a step, when it differs from the step's (flexible job-shop data).",
  fields: (t) => ({
    machine: t.string({ required: true, description: "One of the step's machines, by name." }),
    minutesPerUnit: t.float({ required: true }),
    setupMinutes: t.float({ description: "Default: the step's setupMinutes." }),
  }),
});
export const RoutingStepInput = builder.inputType('RoutingStepInput', {
  fields: (t) => ({
    machines: t.stringList({ required: true, description: 'Names of the eligible machines, all in this plant.' }),
    minutesPerUnit: t.float({ required: true }),
    setupMinutes: t.float(),
    machineTimes: t.field({
      type: [MachineTimeInput],
      description: `Machines that take another time for this step (at most one entry per machine, ${L.machinesPerStep} in all); the others take minutesPerUnit and setupMinutes.`,
    }),
  }),
});
const ProductInput = builder.inputType('ProductInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    routing: t.field({ type: [RoutingStepInput], required: true, description: 'Steps in routing order.' }),
  }),
});
export const OrderInput = builder.inputType('OrderInput', {
  fields: (t) => ({
    code: t.string({ required: true }),
    product: t.string({ required: true, description: 'Product name in the same plant.' }),
    quantity: t.int({ required: true }),
    releaseAt: t.field({ type: 'DateTime' }),
    dueAt: t.field({ type: 'DateTime', required: true }),
    priority: t.int({ description: '0 (normal) to 1000; higher is more urgent.' }),
    status: t.field({ type: OrderStatusEnum, description: 'importPlant: default PLANNED (exportPlant writes it). createOrder: PLANNED only.' }),
    releasedAt: t.field({ type: 'DateTime', description: 'importPlant: when it became RELEASED (as exportPlant writes it).' }),
    startedAt: t.field({ type: 'DateTime', description: 'importPlant: when it became IN_PROGRESS.' }),
    doneAt: t.field({ type: 'DateTime', description: 'importPlant: when it became DONE.' }),
    cancelledAt: t.field({ type: 'DateTime', description: 'importPlant: when it became CANCELLED.' }),
  }),
});
const PlantImportInput = builder.inputType('PlantImportInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    timezone: t.string({ description: 'IANA time zone; default UTC.' }),
    planningHorizonHours: t.int({ description: 'How far ahead the scheduler plans: 1 to 8,784 hours, default 336 (two weeks).' }),
    lines: t.field({ type: [LineInput], required: true }),
    products: t.field({ type: [ProductInput] }),
    orders: t.field({ type: [OrderInput] }),
  }),
});

const ImportPlantSuccess = builder.objectRef<{ plantId: number }>('ImportPlantSuccess').implement({
  fields: (t) => ({
    plant: t.drizzleField({
      type: 'plants',
      resolve: async (query, parent, _args, ctx) => {
        const plant = await ctx.db.query.plants.findFirst(query({ where: { id: parent.plantId } }));
        if (!plant) throw new NotFoundError('Plant', String(parent.plantId));
        return plant;
      },
    }),
  }),
});

builder.mutationFields((t) => ({
  importPlant: t.field({
    description:
      'Creates a whole plant in one transaction. Any problem returns a ValidationError (the first 100 problems listed, problemCount counting all), and nothing is written.',
    type: ImportPlantSuccess,
    skipTypeScopes: true,
    authScopes: { globalAdmin: true },
    args: { input: t.arg({ type: PlantImportInput, required: true }) },
    errors: { types: [ValidationError], directResult: true, union: { name: 'ImportPlantResult' } },
    resolve: async (_root, { input }, ctx) => {
      const { id } = await importPlant(ctx.db, input);
      return { plantId: id };
    },
  }),
}));
