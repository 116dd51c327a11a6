import type { Database, Db } from '../db/client.ts';
import type { Services } from '../services.ts';

export interface Context {
  db: Db;
  services: Services;
  request?: Request;
}
