import type { Principal } from '../auth/roles.ts';
import type { Db } from '../db/client.ts';
import type { Services } from '../services.ts';
import type { FieldOutcome } from './outcome-plugin.ts';

export interface Context {
  db: Db;
  services: Services;
  /** The authenticated caller; requests without valid credentials never reach execution. */
  auth: Principal;
  /** Mutation field outcomes, for the audit log. */
  outcomes: FieldOutcome[];
  request?: Request;
  /** How the operation arrived: over HTTP (POST, GET, batches, SSE) or a graphql-ws WebSocket. */
  transport: 'http' | 'websocket';
  /** On WebSocket connections: close the connection (e.g. 4008 for a subscriber that cannot keep up). */
  closeConnection?: (code: number, reason: string) => void;
}
