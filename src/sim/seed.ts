import type { Database } from '../db/client.ts';
import { importPlant } from '../twin/import.ts';
import { liveTwin } from '../twin/snapshot.ts';
import { demoPlant } from './demo-plant.ts';

/** Loads the demo plant into an empty database. Returns its ID when it did, null when the database had plants. */
export async function seedDemo(database: Database, now: Date): Promise<number | null> {
  const empty = async () => (await liveTwin(database).plants()).length === 0;
  if (!(await empty())) return null;
  try {
    return (await importPlant(database.db, demoPlant(now))).id;
  } catch (err) {
    // Another process seeding the same empty database at the same moment wins the unique index; that is fine.
    if (!(await empty())) return null;
    throw err;
  }
}
