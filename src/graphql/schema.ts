import { builder } from './builder.ts';
import './types/scalars.ts';
import './types/errors.ts';
import './types/twin.ts';
import './types/twin-edit.ts';
import './types/auth.ts';
import './types/telemetry.ts';
import './types/alerts.ts';
import './types/predict.ts';
import './types/jobs.ts';
import './types/datasets.ts';
import './types/optimize.ts';
import './types/maintenance.ts';
import './types/schedules.ts';
import './types/plan.ts';
import './types/scenarios.ts';

// Secure by default: every query needs at least VIEWER, and a mutation that does not declare its own scopes
// (with skipTypeScopes) is ADMIN-only.
builder.queryType({ authScopes: { viewer: true } });
builder.mutationType({ authScopes: { admin: true } });
builder.subscriptionType({ authScopes: { viewer: true } });

export const schema = builder.toSchema({ sortSchema: true });
