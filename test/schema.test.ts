import assert from 'node:assert/strict';
import fs from 'node:fs';
import { printedSchema, schemaFile } from '../scripts/print-schema.ts';
import { it } from './helpers.ts';

it('schema/schema.graphql is exactly what the code prints (run `npm run schema:print` after changing the schema)', () => {
  const committed = fs.readFileSync(schemaFile, 'utf8');
  assert.equal(committed, printedSchema());
});

it('the contract names from API.md exist in the schema', () => {
  const sdl = printedSchema();
  for (const name of [
    'type Plant implements Node',
    'type Machine implements Node',
    'type Order implements Node',
    'interface Error',
    'union ImportPlantResult',
    'type ValidationError',
    'scalar DateTime',
  ]) {
    assert.ok(sdl.includes(name), `missing: ${name}`);
  }
});
