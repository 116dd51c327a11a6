/** Maintenance windows over the API: Machine.maintenanceWindows, and create/delete for PLANNER (src/twin/maintenance.ts). */
import { ConflictError, NotFoundError, ValidationError } from '../../core/errors.ts';
import { decodeId, encodeId } from '../../core/ids.ts';
import { createMaintenanceWindow, deleteMaintenanceWindow, MAINTENANCE_LIMITS } from '../../twin/maintenance.ts';
import { builder, registerNodeVisibility } from '../builder.ts';
import { listSize } from '../cost.ts';
import { Machine } from './twin.ts';

export const MaintenanceWindowNode = builder.drizzleNode('maintenanceWindows', {
  name: 'MaintenanceWindow',
  description: 'Planned maintenance: the machine is not available for production from start to end.',
  id: { column: (w) => w.id },
  authScopes: (w) => ({ plant: w.plantId }),
  fields: (t) => ({
    machine: t.relation('machine'),
    start: t.field({ type: 'DateTime', resolve: (w) => w.startsAt }),
    end: t.field({ type: 'DateTime', resolve: (w) => w.endsAt }),
    reason: t.string({ nullable: true, resolve: (w) => w.reason }),
    createdBy: t.string({ description: 'The key or token name that created it.', resolve: (w) => w.createdBy }),
    createdAt: t.field({ type: 'DateTime', resolve: (w) => w.createdAt }),
  }),
});
registerNodeVisibility('MaintenanceWindow', (r) => r.plantId as number);

builder.drizzleObjectFields(Machine, (t) => ({
  maintenanceWindows: t.relation('maintenanceWindows', {
    description: `The machine's maintenance windows that end after \`from\` and start before \`to\` (both optional), by start; at most ${MAINTENANCE_LIMITS.perMachine} (the limit per machine).`,
    args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }) },
    query: (args) => ({
      where: {
        ...(args.from ? { endsAt: { gt: args.from as Date } } : {}),
        ...(args.to ? { startsAt: { lt: args.to as Date } } : {}),
      },
      orderBy: { startsAt: 'asc' },
      limit: MAINTENANCE_LIMITS.perMachine,
    }),
    extensions: listSize({ max: MAINTENANCE_LIMITS.perMachine }),
  }),
}));

const CreateMaintenanceWindowInput = builder.inputType('CreateMaintenanceWindowInput', {
  fields: (t) => ({
    machineId: t.id({ required: true }),
    start: t.field({ type: 'DateTime', required: true }),
    end: t.field({ type: 'DateTime', required: true, description: `After start; at most ${MAINTENANCE_LIMITS.maxDays} days later.` }),
    reason: t.string({ description: `At most ${MAINTENANCE_LIMITS.reasonLength} characters.` }),
  }),
});

const CreateMaintenanceWindowSuccess = builder.objectRef<{ id: number }>('CreateMaintenanceWindowSuccess').implement({
  fields: (t) => ({
    window: t.drizzleField({
      type: 'maintenanceWindows',
      resolve: async (query, parent, _a, ctx) => {
        const row = await ctx.db.query.maintenanceWindows.findFirst(query({ where: { id: parent.id } }));
        if (!row) throw new NotFoundError('MaintenanceWindow', encodeId('MaintenanceWindow', parent.id));
        return row;
      },
    }),
  }),
});
const DeleteMaintenanceWindowSuccess = builder.objectRef<{ id: number }>('DeleteMaintenanceWindowSuccess').implement({
  fields: (t) => ({ deletedId: t.id({ resolve: (p) => encodeId('MaintenanceWindow', p.id) }) }),
});

const planner = { skipTypeScopes: true, authScopes: { planner: true } } as const;

builder.mutationFields((t) => ({
  createMaintenanceWindow: t.field({
    ...planner,
    type: CreateMaintenanceWindowSuccess,
    description:
      "PLANNER. Plans maintenance on a machine: the scheduler keeps operations off it. A window over another of the machine's is a ConflictError naming it.",
    args: { input: t.arg({ type: CreateMaintenanceWindowInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true, union: { name: 'CreateMaintenanceWindowResult' } },
    resolve: async (_r, { input }, ctx) => {
      const machineId = decodeId('Machine', String(input.machineId));
      if (machineId === null) throw new NotFoundError('Machine', String(input.machineId));
      return createMaintenanceWindow(
        ctx.services.database,
        ctx.auth,
        { machineId, start: input.start as Date, end: input.end as Date, reason: input.reason },
        ctx.auth.name,
      );
    },
  }),
  deleteMaintenanceWindow: t.field({
    ...planner,
    type: DeleteMaintenanceWindowSuccess,
    description: 'PLANNER. Removes a maintenance window.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteMaintenanceWindowResult' } },
    resolve: async (_r, args, ctx) => {
      const id = decodeId('MaintenanceWindow', String(args.id));
      if (id === null) throw new NotFoundError('MaintenanceWindow', String(args.id));
      return deleteMaintenanceWindow(ctx.services.database, ctx.auth, id);
    },
  }),
}));
