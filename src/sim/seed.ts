import type { Db } from '../db/client.ts';
import { plants } from '../db/schema/index.ts';
import { importPlant } from '../twin/import.ts';
import { demoPlant } from './demo-plant.ts';

/** Loads the demo plant into an empty database. Returns its ID when it did, null when the database had plants. */
export async function seedDemo(db: Db, now: Date): Promise<number | null> {
  const n = await db.$count(plants);
  if (n > 0) return null;
  try {
    return (await importPlant(db, demoPlant(now))).id;
  } catch (err) {
    // Another process seeding the same empty database at the same moment wins the unique index; that is fine.
    if ((await db.$count(plants)) > 0) return null;
    throw err;
  }
}
