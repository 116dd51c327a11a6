import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import type { OrderStatus } from '../../db/schema/index.ts';
import * as edit from '../../twin/edit.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { OrderInput, OrderStatusEnum, RoutingStepInput } from './twin.ts';

/**
 * Editing the twin. Structure (lines, machines, products, routings): ENGINEER. Orders (create, change, lifecycle):
 * PLANNER. Every ID is checked against the caller's plants: another plant's ID reads like an unknown one.
 */

type Kind = 'Plant' | 'Line' | 'Machine' | 'Product' | 'Order';

/** The numeric key of a global ID of `kind`; a malformed or mistyped ID is a NotFoundError like an unknown one. */
function target(kind: Kind, raw: string | number): number {
  const id = decodeId(kind, String(raw));
  if (id === null) throw new NotFoundError(kind, String(raw));
  return id;
}

/** A referenced ID inside an input (e.g. a machine's new line): malformed reads as unknown in this plant. */
function reference(kind: Kind, raw: string | number | null | undefined, path: string): number | null | undefined {
  if (raw == null) return raw as null | undefined;
  const id = decodeId(kind, String(raw));
  if (id === null) throw ValidationError.single(path, `unknown ${kind.toLowerCase()} in this plant`);
  return id;
}

function deps(ctx: Context): edit.EditDeps {
  const s = ctx.services;
  return { database: s.database, machineNames: s.machineNames, now: () => s.clock.now() };
}

const rowSuccess = <T extends 'lines' | 'machines' | 'products' | 'orders'>(name: string, field: string, table: T) =>
  builder.objectRef<{ id: number }>(name).implement({
    fields: (t) => ({
      [field]: t.drizzleField({
        type: table,
        resolve: async (query: any, parent: { id: number }, _a: unknown, ctx: Context) => {
          const row = await (ctx.db.query[table] as any).findFirst(query({ where: { id: parent.id } }));
          if (!row) throw new NotFoundError(field, String(parent.id));
          return row;
        },
      } as any),
    }),
  });

const deleteSuccess = (name: string, kind: Kind) =>
  builder.objectRef<{ id: number; plantId: number }>(name).implement({
    fields: (t) => ({
      deletedId: t.id({ description: `The global ID of the deleted ${kind}.`, resolve: (p) => encodeId(kind, p.id) }),
      plant: t.drizzleField({
        type: 'plants',
        resolve: async (query, parent, _a, ctx) => (await ctx.db.query.plants.findFirst(query({ where: { id: parent.plantId } })))!,
      }),
    }),
  });

const CreateLineInput = builder.inputType('CreateLineInput', {
  fields: (t) => ({ plantId: t.id({ required: true }), name: t.string({ required: true }) }),
});
const UpdateLineInput = builder.inputType('UpdateLineInput', {
  description: 'Fields left out keep their value.',
  fields: (t) => ({ id: t.id({ required: true }), name: t.string() }),
});
const CreateMachineInput = builder.inputType('CreateMachineInput', {
  fields: (t) => ({
    lineId: t.id({ required: true }),
    name: t.string({ required: true }),
    kind: t.string(),
    idealCycleSeconds: t.float({ description: 'Ideal seconds per unit (0 < x ≤ 86,400), used for OEE performance.' }),
    rateFactor: t.float({ description: "Speed against the routings' times (0 < x ≤ 10, default 1): 0.8 takes 1/0.8 of the time." }),
  }),
});
const UpdateMachineInput = builder.inputType('UpdateMachineInput', {
  description: 'Fields left out keep their value; kind and idealCycleSeconds set to null are cleared. lineId moves the machine to another line of its plant.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    kind: t.string(),
    lineId: t.id(),
    idealCycleSeconds: t.float(),
    rateFactor: t.float({ description: 'null keeps it.' }),
  }),
});
const CreateProductInput = builder.inputType('CreateProductInput', {
  fields: (t) => ({
    plantId: t.id({ required: true }),
    name: t.string({ required: true }),
    routing: t.field({ type: [RoutingStepInput], required: true, description: 'Steps in routing order; machines by name, all in this plant.' }),
  }),
});
const UpdateProductInput = builder.inputType('UpdateProductInput', {
  description: 'Fields left out keep their value; a routing replaces the whole routing.',
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string(),
    routing: t.field({ type: [RoutingStepInput] }),
  }),
});
const CreateOrderInput = builder.inputType('CreateOrderInput', {
  fields: (t) => ({ plantId: t.id({ required: true }), order: t.field({ type: OrderInput, required: true }) }),
});
const UpdateOrderInput = builder.inputType('UpdateOrderInput', {
  description: 'Fields left out keep their value; releaseAt: null clears it. DONE and CANCELLED orders cannot change (ConflictError).',
  fields: (t) => ({
    id: t.id({ required: true }),
    quantity: t.int(),
    releaseAt: t.field({ type: 'DateTime' }),
    dueAt: t.field({ type: 'DateTime' }),
    priority: t.int({ description: '0 to 1000; higher is more urgent.' }),
  }),
});
const SetOrderStatusInput = builder.inputType('SetOrderStatusInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    status: t.field({ type: OrderStatusEnum, required: true }),
    at: t.field({ type: 'DateTime', description: 'When it happened; default now. Not before the last change, not in the future.' }),
  }),
});

const CreateLineSuccess = rowSuccess('CreateLineSuccess', 'line', 'lines');
const UpdateLineSuccess = rowSuccess('UpdateLineSuccess', 'line', 'lines');
const DeleteLineSuccess = deleteSuccess('DeleteLineSuccess', 'Line');
const CreateMachineSuccess = rowSuccess('CreateMachineSuccess', 'machine', 'machines');
const UpdateMachineSuccess = rowSuccess('UpdateMachineSuccess', 'machine', 'machines');
const DeleteMachineSuccess = deleteSuccess('DeleteMachineSuccess', 'Machine');
const CreateProductSuccess = rowSuccess('CreateProductSuccess', 'product', 'products');
const UpdateProductSuccess = rowSuccess('UpdateProductSuccess', 'product', 'products');
const DeleteProductSuccess = deleteSuccess('DeleteProductSuccess', 'Product');
const CreateOrderSuccess = rowSuccess('CreateOrderSuccess', 'order', 'orders');
const UpdateOrderSuccess = rowSuccess('UpdateOrderSuccess', 'order', 'orders');
const SetOrderStatusSuccess = rowSuccess('SetOrderStatusSuccess', 'order', 'orders');

const ERRORS = [ValidationError, NotFoundError, ConflictError];
const engineer = { skipTypeScopes: true, authScopes: { engineer: true } } as const;
const planner = { skipTypeScopes: true, authScopes: { planner: true } } as const;
const errors = (union: string) => ({ types: ERRORS, directResult: true, union: { name: union } }) as const;

builder.mutationFields((t) => ({
  createLine: t.field({
    ...engineer,
    description: 'ENGINEER. A new, empty line in a plant; names are unique within the plant.',
    type: CreateLineSuccess,
    args: { input: t.arg({ type: CreateLineInput, required: true }) },
    errors: errors('CreateLineResult'),
    resolve: (_r, { input }, ctx) => edit.createLine(deps(ctx), ctx.auth, { plantId: target('Plant', input.plantId), name: input.name }),
  }),
  updateLine: t.field({
    ...engineer,
    description: 'ENGINEER. Renames a line.',
    type: UpdateLineSuccess,
    args: { input: t.arg({ type: UpdateLineInput, required: true }) },
    errors: errors('UpdateLineResult'),
    resolve: (_r, { input }, ctx) => edit.updateLine(deps(ctx), ctx.auth, { id: target('Line', input.id), name: input.name }),
  }),
  deleteLine: t.field({
    ...engineer,
    description: 'ENGINEER. Removes an empty line; a line with machines is a ConflictError naming them.',
    type: DeleteLineSuccess,
    args: { id: t.arg.id({ required: true }) },
    errors: errors('DeleteLineResult'),
    resolve: (_r, { id }, ctx) => edit.deleteLine(deps(ctx), ctx.auth, target('Line', id)),
  }),
  createMachine: t.field({
    ...engineer,
    description: 'ENGINEER. A new machine (status IDLE) on a line; names are unique within the plant.',
    type: CreateMachineSuccess,
    args: { input: t.arg({ type: CreateMachineInput, required: true }) },
    errors: errors('CreateMachineResult'),
    resolve: (_r, { input }, ctx) =>
      edit.createMachine(deps(ctx), ctx.auth, {
        lineId: target('Line', input.lineId),
        name: input.name,
        kind: input.kind,
        idealCycleSeconds: input.idealCycleSeconds,
        rateFactor: input.rateFactor,
      }),
  }),
  updateMachine: t.field({
    ...engineer,
    description: 'ENGINEER. Renames a machine, changes its kind or ideal cycle, or moves it to another line of its plant.',
    type: UpdateMachineSuccess,
    args: { input: t.arg({ type: UpdateMachineInput, required: true }) },
    errors: errors('UpdateMachineResult'),
    resolve: (_r, { input }, ctx) =>
      edit.updateMachine(deps(ctx), ctx.auth, {
        id: target('Machine', input.id),
        name: input.name,
        kind: input.kind,
        lineId: reference('Line', input.lineId, 'lineId'),
        idealCycleSeconds: input.idealCycleSeconds,
        rateFactor: input.rateFactor,
      }),
  }),
  deleteMachine: t.field({
    ...engineer,
    description:
      'ENGINEER. Removes a machine with its telemetry, state history and alerts. A machine in a routing or named by an alert rule is a ConflictError naming them.',
    type: DeleteMachineSuccess,
    args: { id: t.arg.id({ required: true }) },
    errors: errors('DeleteMachineResult'),
    resolve: (_r, { id }, ctx) => edit.deleteMachine(deps(ctx), ctx.auth, target('Machine', id)),
  }),
  createProduct: t.field({
    ...engineer,
    description: 'ENGINEER. A new product with its routing; names are unique within the plant.',
    type: CreateProductSuccess,
    args: { input: t.arg({ type: CreateProductInput, required: true }) },
    errors: errors('CreateProductResult'),
    resolve: (_r, { input }, ctx) =>
      edit.createProduct(deps(ctx), ctx.auth, { plantId: target('Plant', input.plantId), name: input.name, routing: input.routing }),
  }),
  updateProduct: t.field({
    ...engineer,
    description: 'ENGINEER. Renames a product or replaces its routing.',
    type: UpdateProductSuccess,
    args: { input: t.arg({ type: UpdateProductInput, required: true }) },
    errors: errors('UpdateProductResult'),
    resolve: (_r, { input }, ctx) => edit.updateProduct(deps(ctx), ctx.auth, { id: target('Product', input.id), name: input.name, routing: input.routing }),
  }),
  deleteProduct: t.field({
    ...engineer,
    description: 'ENGINEER. Removes a product and its routing; a product with orders is a ConflictError naming them.',
    type: DeleteProductSuccess,
    args: { id: t.arg.id({ required: true }) },
    errors: errors('DeleteProductResult'),
    resolve: (_r, { id }, ctx) => edit.deleteProduct(deps(ctx), ctx.auth, target('Product', id)),
  }),
  createOrder: t.field({
    ...planner,
    description: 'PLANNER. A new PLANNED order; codes are unique within the plant.',
    type: CreateOrderSuccess,
    args: { input: t.arg({ type: CreateOrderInput, required: true }) },
    errors: errors('CreateOrderResult'),
    resolve: (_r, { input }, ctx) => edit.createOrder(deps(ctx), ctx.auth, { plantId: target('Plant', input.plantId), order: input.order }),
  }),
  updateOrder: t.field({
    ...planner,
    description: 'PLANNER. Changes quantity, dates or priority of an order that is not DONE or CANCELLED.',
    type: UpdateOrderSuccess,
    args: { input: t.arg({ type: UpdateOrderInput, required: true }) },
    errors: errors('UpdateOrderResult'),
    resolve: (_r, { input }, ctx) =>
      edit.updateOrder(deps(ctx), ctx.auth, {
        id: target('Order', input.id),
        quantity: input.quantity,
        releaseAt: input.releaseAt,
        dueAt: input.dueAt,
        priority: input.priority,
      }),
  }),
  setOrderStatus: t.field({
    ...planner,
    description:
      'PLANNER. PLANNED → RELEASED → IN_PROGRESS → DONE, or CANCELLED from any but DONE (and CANCELLED), at `at` (default now). Any other step is a ConflictError.',
    type: SetOrderStatusSuccess,
    args: { input: t.arg({ type: SetOrderStatusInput, required: true }) },
    errors: errors('SetOrderStatusResult'),
    resolve: (_r, { input }, ctx) =>
      edit.setOrderStatus(deps(ctx), ctx.auth, { id: target('Order', input.id), status: input.status as OrderStatus, at: input.at }),
  }),
}));

builder.queryFields((t) => ({
  exportPlant: t.field({
    type: 'JSON',
    nullable: true,
    description:
      'The plant as a PlantImportInput document (importPlant accepts it, under a new name): lines, machines, products with routings, orders with their plan fields, status and lifecycle times. null for an unknown plant.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => {
      const plantId = decodeId('Plant', String(id));
      return plantId === null ? null : edit.exportPlant(ctx.services.database, ctx.auth, plantId);
    },
  }),
}));
