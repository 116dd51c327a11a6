import type { Db } from '../db/client.ts';
import { plants } from '../db/schema/index.ts';
import { demoPlant } from './demo.ts';
import { importPlant } from './import.ts';

/** Loads the demo plant into an empty database. Returns true when it did. */
export async function seedDemo(db: Db, now = new Date()): Promise<boolean> {
  const n = await db.$count(plants);
  if (n > 0) return false;
  try {
    await importPlant(db, demoPlant(now));
    return true;
  } catch (err) {
    // Another process seeding the same empty database at the same moment wins the unique index; that is fine.
    if ((await db.$count(plants)) > 0) return false;
    throw err;
  }
}
