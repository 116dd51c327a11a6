import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PayloadTooLargeError, ValidationError } from '../src/core/errors.ts';
import { encodeId } from '../src/core/ids.ts';
import { ALL_PLANTS } from '../src/core/scope.ts';
import { startServer } from '../src/graphql/server.ts';
import { getDataset, importCsvDataset, listDatasets, loadDataset } from '../src/predict/datasets.ts';
import type { DataColumn } from '../src/predict/table.ts';
import { importPlant } from '../src/twin/import.ts';
import { liveTwin } from '../src/twin/snapshot.ts';
import {
  after,
  AUDITED,
  as,
  before,
  createTestApp,
  describe,
  it,
  makeKey,
  TEST_ADMIN_KEY,
  type TestApp,
  tableCounts,
  testBackends,
  unchanged,
} from './helpers.ts';

const UPLOAD_LIMIT = 1024 * 1024;
const BODY_LIMIT = 64 * 1024;

const values = (c: DataColumn | undefined) => (c ? Array.from(c.values as ArrayLike<number | string | null>) : undefined);
const column = (t: { columns: DataColumn[] }, name: string) => t.columns.find((c) => c.name === name);

const IMPORT = `mutation($input: ImportDatasetInput!) { importDataset(input: $input) { __typename
  ... on ImportDatasetSuccess { dataset { id name source rowCount plant { id } createdBy columns { name kind missing min max mean categories { value count } categoryCount } } }
  ... on ValidationError { fieldErrors { path message } problemCount }
  ... on PayloadTooLargeError { path limitBytes }
  ... on Error { code message } } }`;

/** A GraphQL multipart request (operations, map, one file part) as one buffer, and its content type. */
function multipart(query: string, variables: Record<string, unknown>, filePath: string, file: Buffer) {
  const boundary = `----plantgraph${randomBytes(8).toString('hex')}`;
  const part = (headers: string, body: string | Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), Buffer.from(body), Buffer.from('\r\n')];
  const body = Buffer.concat([
    ...part('Content-Disposition: form-data; name="operations"', JSON.stringify({ query, variables })),
    ...part('Content-Disposition: form-data; name="map"', JSON.stringify({ 0: [filePath] })),
    ...part('Content-Disposition: form-data; name="0"; filename="data.csv"\r\nContent-Type: text/csv', file),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A multipart body produced while it is read, with a counter of the file bytes handed out so far. */
function streamingMultipart(query: string, variables: Record<string, unknown>, filePath: string, fileBytes: number) {
  const { body, contentType } = multipart(query, variables, filePath, Buffer.from('@FILE@'));
  const at = body.indexOf('@FILE@');
  const head = body.subarray(0, at);
  const tail = body.subarray(at + 6);
  const piece = Buffer.from('1,2,3\n'.repeat(10_000));
  /** File bytes handed out so far; `stop` ends the body early (once the answer is in). */
  const sent = { file: 0, stop: false };
  let stage = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent.stop) c.close();
      else if (stage === 0) {
        stage = 1;
        c.enqueue(head);
      } else if (sent.file < fileBytes) {
        const n = Math.min(piece.length, fileBytes - sent.file);
        sent.file += n;
        c.enqueue(piece.subarray(0, n));
      } else if (stage === 1) {
        stage = 2;
        c.enqueue(tail);
      } else c.close();
    },
  });
  return { stream, contentType, sent };
}

for (const backend of testBackends()) {
  describe(`datasets [${backend}]`, () => {
    let app: TestApp;
    let plantA: number;
    let plantB: number;
    before(async () => {
      app = await createTestApp(backend, {
        seed: false,
        env: { PLANTGRAPH_MAX_UPLOAD_BYTES: String(UPLOAD_LIMIT), PLANTGRAPH_MAX_BODY_BYTES: String(BODY_LIMIT) },
      });
      await importPlant(app.database.db, { name: 'Plant A', lines: [{ name: 'L', machines: [{ name: 'M' }] }] });
      await importPlant(app.database.db, { name: 'Plant B', lines: [{ name: 'L', machines: [{ name: 'M' }] }] });
      const plants = await liveTwin(app.database).plants();
      plantA = plants.find((p) => p.name === 'Plant A')!.id;
      plantB = plants.find((p) => p.name === 'Plant B')!.id;
    });
    after(() => app?.close());

    const csvImport = (source: Parameters<typeof importCsvDataset>[1]['source'], extra: Partial<Parameters<typeof importCsvDataset>[1]> = {}) =>
      importCsvDataset(app.database, { name: 'test', source, maxBytes: UPLOAD_LIMIT, createdBy: 'test', ...extra });

    it('round trip: numeric and categorical columns, missing values, category counts', async () => {
      const csv = 'id,type,temp,count,flag,code\n1,L,298.1,10,yes,A1\n2,M,NA,,no,7\n3,L,NaN,12,,A1\n4,H,301.25, 13 ,yes,N/A\n';
      const id = await csvImport(csv);
      const info = await getDataset(app.database, ALL_PLANTS, id);
      assert.equal(info.rowCount, 4);
      assert.equal(info.source, 'CSV');
      const none = { min: null, max: null, mean: null };
      assert.deepEqual(info.columns, [
        { name: 'id', kind: 'numeric', missing: 0, min: 1, max: 4, mean: 2.5, categories: [], categoryCount: null },
        {
          name: 'type',
          kind: 'categorical',
          missing: 0,
          ...none,
          categories: [
            { value: 'L', count: 2 },
            { value: 'H', count: 1 },
            { value: 'M', count: 1 },
          ],
          categoryCount: 3,
        },
        { name: 'temp', kind: 'numeric', missing: 2, min: 298.1, max: 301.25, mean: (298.1 + 301.25) / 2, categories: [], categoryCount: null },
        { name: 'count', kind: 'numeric', missing: 1, min: 10, max: 13, mean: 35 / 3, categories: [], categoryCount: null },
        {
          name: 'flag',
          kind: 'categorical',
          missing: 1,
          ...none,
          categories: [
            { value: 'yes', count: 2 },
            { value: 'no', count: 1 },
          ],
          categoryCount: 2,
        },
        {
          name: 'code',
          kind: 'categorical',
          missing: 1,
          ...none,
          categories: [
            { value: 'A1', count: 2 },
            { value: '7', count: 1 },
          ],
          categoryCount: 2,
        },
      ]);
      const table = await loadDataset(app.database, id);
      assert.equal(table.rowCount, 4);
      assert.deepEqual(values(column(table, 'id')), [1, 2, 3, 4]);
      assert.deepEqual(values(column(table, 'type')), ['L', 'M', 'L', 'H']);
      assert.deepEqual(values(column(table, 'temp')), [298.1, Number.NaN, Number.NaN, 301.25]);
      assert.deepEqual(values(column(table, 'count')), [10, Number.NaN, 12, 13]);
      assert.deepEqual(values(column(table, 'flag')), ['yes', 'no', null, 'yes']);
      assert.deepEqual(values(column(table, 'code')), ['A1', '7', 'A1', null]);
    });

    it('a column read as numbers in its first chunks and categorical later keeps its text; non-canonical numbers read exactly', async () => {
      const n = 20_000; // three chunks of 8,192 rows
      let csv = 'x,y\n';
      for (let i = 0; i < n; i++) csv += `${i === n - 1 ? 'last' : i},${(i / 4).toFixed(2)}\n`;
      const table = await loadDataset(app.database, await csvImport(csv));
      const x = column(table, 'x')!;
      const y = column(table, 'y')!;
      assert.equal(x.kind, 'categorical');
      assert.equal(y.kind, 'numeric');
      for (let i = 0; i < n; i++) {
        assert.equal(x.values[i], i === n - 1 ? 'last' : String(i));
        assert.equal(y.values[i], Number((i / 4).toFixed(2)));
      }
    });

    it('bad rows: every one by line and column, counting lines of quoted values, and nothing stored', async () => {
      const csv = [
        'id,name,value', // 1
        '1,alpha,1.5', // 2
        '', // 3
        '2,"multi\r\nline",2.5', // 4-5
        '3,beta', // 6
        '4,gamma,4,extra', // 7
        '5,de\u0000lta,5', // 8
        '6,eps,6', // 9
      ].join('\r\n');
      await unchanged(app.database, () =>
        assert.rejects(csvImport(csv), (e: ValidationError) => {
          assert.ok(e instanceof ValidationError);
          assert.deepEqual(e.fieldErrors, [
            { path: 'csv:line 6', message: '2 fields where the header has 3: no value for "value"' },
            { path: 'csv:line 7', message: '4 fields where the header has 3 (the last column is "value")' },
            { path: 'csv:line 8, column "name"', message: 'contains a NUL character (U+0000), which cannot be stored' },
          ]);
          assert.equal(e.message, 'Invalid input: 3 problems');
          return true;
        }),
      );
      const quotes = 'id,name,value\n1,a,1\n2,"b\nb",2\n3,"open,3\n4,d,4\n';
      await assert.rejects(csvImport(quotes), (e: ValidationError) => {
        assert.deepEqual(e.fieldErrors, [
          { path: 'csv:line 5, column "name"', message: 'the quoted value that starts on this line is never closed; the rest of the file was not checked' },
        ]);
        return true;
      });
      await assert.rejects(csvImport('a,b\n1,"2"x\n3,4\n'), (e: ValidationError) => {
        assert.deepEqual(e.fieldErrors, [
          {
            path: 'csv:line 2, column "b"',
            message: 'a closing quote must be followed by a comma or the end of the line; the rest of the file was not checked',
          },
        ]);
        return true;
      });
      await assert.rejects(csvImport('a,a,\n1,2,3\n'), (e: ValidationError) => {
        assert.deepEqual(e.fieldErrors, [
          { path: 'csv:line 1, column 2', message: 'duplicate column name "a" (also column 1)' },
          { path: 'csv:line 1, column 3', message: 'empty column name (the first row must name every column)' },
        ]);
        return true;
      });
      await assert.rejects(csvImport(''), { message: 'Invalid input: csv: the file is empty: the first row must name the columns' });
      await assert.rejects(csvImport('a,b\n\n'), { message: 'Invalid input: csv: no data rows after the header' });
    });

    it('lists the first 100 bad rows and counts all of them', async () => {
      let csv = 'a,b\n';
      for (let i = 0; i < 300; i++) csv += i % 2 === 0 ? `${i}\n` : `${i},${i}\n`;
      await assert.rejects(csvImport(csv), (e: ValidationError) => {
        assert.equal(e.problemCount, 150);
        assert.equal(e.listed.length, 100);
        assert.deepEqual(e.listed[0], { path: 'csv:line 2', message: '1 field where the header has 2: no value for "b"' });
        assert.equal(e.listed[99].path, 'csv:line 200');
        assert.equal(e.message, 'Invalid input: 150 problems (the first 100 are listed)');
        return true;
      });
    });

    it('refuses input over the limit while it streams, reading little past it, storing nothing', async () => {
      let pulled = 0;
      async function* endless() {
        yield Buffer.from('a,b\n');
        for (;;) {
          pulled += 65_536;
          yield Buffer.from('1,2\n'.repeat(16_384));
        }
      }
      await unchanged(app.database, () =>
        assert.rejects(csvImport(endless(), { maxBytes: 1_000_000, path: 'file' }), (e: PayloadTooLargeError) => {
          assert.ok(e instanceof PayloadTooLargeError);
          assert.equal(e.message, 'file: larger than the limit of 1,000,000 bytes; nothing was stored');
          return true;
        }),
      );
      assert.ok(pulled <= 1_000_000 + 4 * 65_536, `read ${pulled} bytes of an endless source`);
    });

    // The streaming path (parser, chunking, encoding) is the same on both databases; the 100 MB run takes a minute or
    // more, so it runs once, on PostgreSQL, where the stored rows live outside this process and RSS measures the import.
    it('imports a generated 100 MB file with memory far below its size', {
      timeout: 900_000,
      skip: backend === 'pglite' ? 'runs on PostgreSQL' : false,
    }, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plantgraph-csv-'));
      const file = path.join(dir, 'big.csv');
      try {
        const out = fs.createWriteStream(file);
        out.write('id,type,air,rpm,torque,failure\n');
        let rows = 0;
        while (out.bytesWritten + out.writableLength < 100_000_000) {
          let s = '';
          for (let k = 0; k < 1000; k++, rows++)
            s += `${rows},${'LMH'[rows % 3]},${(295 + (rows % 50) / 10).toFixed(1)},${1200 + (rows % 900)},${(20 + (rows % 499) / 10).toFixed(1)},${rows % 29 === 0 ? 1 : 0}\n`;
          if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
        }
        await new Promise<void>((r) => out.end(() => r()));
        const size = fs.statSync(file).size;

        v8.setFlagsFromString('--expose_gc');
        const gc = vm.runInNewContext('gc') as () => void;
        gc();
        const start = process.memoryUsage();
        let heap = 0;
        let rss = 0;
        const sample = () => {
          const m = process.memoryUsage();
          rss = Math.max(rss, m.rss - start.rss);
          gc();
          heap = Math.max(heap, process.memoryUsage().heapUsed - start.heapUsed);
        };
        const timer = setInterval(sample, 500);
        const t0 = Date.now();
        let id: number;
        try {
          id = await importCsvDataset(app.database, { name: 'big', source: fs.createReadStream(file), maxBytes: 200_000_000, createdBy: 'test' });
        } finally {
          clearInterval(timer);
        }
        sample();
        const seconds = (Date.now() - t0) / 1000;
        console.log(
          `# 100 MB CSV [${backend}]: ${size} bytes, ${rows} rows in ${seconds.toFixed(1)} s; retained heap +${(heap / 1e6).toFixed(1)} MB, peak RSS +${(rss / 1e6).toFixed(1)} MB`,
        );
        assert.ok(heap < size * 0.1, `retained heap grew by ${heap} bytes importing ${size}`);
        assert.ok(rss < size * 0.75, `RSS grew by ${rss} bytes importing ${size}`);
        const info = await getDataset(app.database, ALL_PLANTS, id);
        assert.equal(info.rowCount, rows);
        assert.deepEqual(info.columns[0], {
          name: 'id',
          kind: 'numeric',
          missing: 0,
          min: 0,
          max: rows - 1,
          mean: (rows - 1) / 2,
          categories: [],
          categoryCount: null,
        });
        assert.deepEqual(
          info.columns.map((c) => c.kind),
          ['numeric', 'categorical', 'numeric', 'numeric', 'numeric', 'numeric'],
        );
        await app.gql('mutation($id: ID!) { deleteDataset(id: $id) { __typename } }', { id: encodeId('Dataset', id) });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    describe('over GraphQL', () => {
      it('imports CSV text, reads it back by id, node and list, and deletes it with its rows', async () => {
        const r = await app.gql(IMPORT, { input: { name: 'sensors', csv: 'temp,kind\n1.5,a\n2.5,b\n', plantId: encodeId('Plant', plantA) } });
        const d = r.body.data.importDataset.dataset;
        assert.ok(d, JSON.stringify(r.body));
        assert.deepEqual(d.columns[0], { name: 'temp', kind: 'NUMERIC', missing: 0, min: 1.5, max: 2.5, mean: 2, categories: [], categoryCount: null });
        assert.deepEqual(d.columns[1].categories, [
          { value: 'a', count: 1 },
          { value: 'b', count: 1 },
        ]);
        assert.deepEqual([d.name, d.source, d.rowCount, d.plant.id, d.createdBy], ['sensors', 'CSV', 2, encodeId('Plant', plantA), 'PLANTGRAPH_ADMIN_KEY']);
        const read = await app.gql(
          `query($id: ID!, $plant: ID!) { dataset(id: $id) { name } node(id: $id) { ... on Dataset { rowCount } } datasets(plantId: $plant, first: 5) { totalCount edges { node { id } } } }`,
          { id: d.id, plant: encodeId('Plant', plantA) },
        );
        assert.equal(read.body.data.dataset.name, 'sensors');
        assert.equal(read.body.data.node.rowCount, 2);
        assert.ok(read.body.data.datasets.edges.some((e: { node: { id: string } }) => e.node.id === d.id));
        const before = (await tableCounts(app.database)).dataset_chunks;
        const del = await app.gql('mutation($id: ID!) { deleteDataset(id: $id) { __typename ... on DeleteDatasetSuccess { deletedId } } }', { id: d.id });
        assert.deepEqual(del.body.data.deleteDataset, { __typename: 'DeleteDatasetSuccess', deletedId: d.id });
        assert.equal((await tableCounts(app.database)).dataset_chunks, before - 1);
        assert.equal((await app.gql('query($id: ID!) { dataset(id: $id) { id } }', { id: d.id })).body.data.dataset, null);
      });

      it('needs exactly one of file and csv; bad rows come back by line and column', async () => {
        const none = await unchanged(app.database, () => app.gql(IMPORT, { input: { name: 'x' } }), AUDITED);
        assert.deepEqual(none.body.data.importDataset.fieldErrors, [{ path: 'csv', message: 'give exactly one of file and csv' }]);
        const bad = await unchanged(app.database, () => app.gql(IMPORT, { input: { name: 'x', csv: 'a,b\n1\n' } }), AUDITED);
        assert.deepEqual(bad.body.data.importDataset, {
          __typename: 'ValidationError',
          fieldErrors: [{ path: 'csv:line 2', message: '1 field where the header has 2: no value for "b"' }],
          problemCount: 1,
          code: 'VALIDATION_FAILED',
          message: 'Invalid input: csv:line 2: 1 field where the header has 2: no value for "b"',
        });
      });

      it('imports a multipart file upload through yoga', async () => {
        const { body, contentType } = multipart(
          IMPORT,
          { input: { name: 'uploaded', file: null } },
          'variables.input.file',
          Buffer.from('a,b\n1,x\n2,y\n3,x\n'),
        );
        const res = await app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': contentType, authorization: `Bearer ${TEST_ADMIN_KEY}` },
          body,
        });
        const json = (await res.json()) as { data: { importDataset: { dataset: { rowCount: number; columns: { name: string; kind: string }[] } } } };
        assert.equal(res.status, 200, JSON.stringify(json));
        assert.equal(json.data.importDataset.dataset.rowCount, 3);
        assert.deepEqual(
          json.data.importDataset.dataset.columns.map((c) => c.kind),
          ['NUMERIC', 'CATEGORICAL'],
        );
        // The audit log keeps the file as its name and size, not its bytes.
        const [entry] = await app.database.query<{ variables: unknown; outcome: string }>('select variables, outcome from audit_log order by id desc limit 1');
        assert.deepEqual(entry, { variables: { input: { name: 'uploaded', file: { '[file]': 'data.csv', bytes: 16 } } }, outcome: 'OK' });
        const both = multipart(IMPORT, { input: { name: 'both', file: null, csv: 'a\n1\n' } }, 'variables.input.file', Buffer.from('a\n1\n'));
        const r2 = await app.yoga.fetch('http://localhost/graphql', {
          method: 'POST',
          headers: { 'content-type': both.contentType, authorization: `Bearer ${TEST_ADMIN_KEY}` },
          body: both.body,
        });
        assert.deepEqual(((await r2.json()) as any).data.importDataset.fieldErrors, [{ path: 'file', message: 'give exactly one of file and csv' }]);
      });

      it('refuses an oversize upload with 413 while it streams, running and storing nothing', async () => {
        const total = 100 * UPLOAD_LIMIT;
        const { stream, contentType, sent } = streamingMultipart(IMPORT, { input: { name: 'huge', file: null } }, 'variables.input.file', total);
        let readWhenAnswered = 0;
        const res = await unchanged(app.database, async () => {
          const r = await app.yoga.fetch('http://localhost/graphql', {
            method: 'POST',
            headers: { 'content-type': contentType, authorization: `Bearer ${TEST_ADMIN_KEY}` },
            body: stream,
            duplex: 'half',
          } as RequestInit);
          readWhenAnswered = sent.file;
          sent.stop = true;
          return r;
        });
        assert.equal(res.status, 413);
        // Refused while the upload streams: the answer came long before the body was all read.
        assert.ok(readWhenAnswered < total / 4, `${readWhenAnswered} bytes of a ${total}-byte upload were read before the answer`);
        assert.deepEqual(await res.json(), {
          errors: [
            {
              message: `The uploaded file is larger than the limit of ${UPLOAD_LIMIT.toLocaleString('en-US')} bytes (PLANTGRAPH_MAX_UPLOAD_BYTES); nothing was stored.`,
              extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: UPLOAD_LIMIT },
            },
          ],
        });
      });

      it('over HTTP: an upload larger than PLANTGRAPH_MAX_BODY_BYTES within PLANTGRAPH_MAX_UPLOAD_BYTES is taken, a larger one refused with 413', async () => {
        const server = await startServer(app.services, { port: 0, host: '127.0.0.1' });
        try {
          const post = (name: string, bytes: Buffer) => {
            const { body, contentType } = multipart(IMPORT, { input: { name, file: null } }, 'variables.input.file', bytes);
            return fetch(`${server.url}/graphql`, {
              method: 'POST',
              headers: { 'content-type': contentType, authorization: `Bearer ${TEST_ADMIN_KEY}` },
              body,
            });
          };
          const rows = 'a,b\n' + '12345,67890\n'.repeat(Math.ceil((4 * BODY_LIMIT) / 12));
          const ok = await post('over-body-limit', Buffer.from(rows));
          const okJson = (await ok.json()) as any;
          assert.equal(ok.status, 200, JSON.stringify(okJson));
          assert.equal(okJson.data.importDataset.dataset.rowCount, Math.ceil((4 * BODY_LIMIT) / 12));
          const big = await unchanged(app.database, () => post('over-upload-limit', Buffer.alloc(UPLOAD_LIMIT + BODY_LIMIT, 'a')));
          assert.equal(big.status, 413);
          assert.equal(((await big.json()) as any).errors[0].extensions.code, 'PAYLOAD_TOO_LARGE');
        } finally {
          await server.close();
        }
      });

      it('access: VIEWER is refused; plant scopes hold for datasets of a plant; datasets of no plant need an unscoped key', async () => {
        const viewer = as(app, (await makeKey(app, `ds-viewer-${backend}`, 'VIEWER')).key);
        for (const [m, vars] of [
          [IMPORT, { input: { name: 'v', csv: 'a\n1\n' } }],
          ['mutation($id: ID!) { deleteDataset(id: $id) { __typename } }', { id: encodeId('Dataset', 1) }],
        ] as const) {
          const r = await unchanged(app.database, () => viewer(m, vars), AUDITED);
          const field = m.includes('importDataset') ? 'importDataset' : 'deleteDataset';
          assert.equal(r.body.errors[0].message, `Forbidden: role VIEWER may not use Mutation.${field}`);
          assert.equal(r.body.errors[0].extensions.code, 'FORBIDDEN');
        }
        const A = encodeId('Plant', plantA);
        const B = encodeId('Plant', plantB);
        const engineerA = as(app, (await makeKey(app, `ds-eng-a-${backend}`, 'ENGINEER', [A])).key);
        const noPlant = await unchanged(app.database, () => engineerA(IMPORT, { input: { name: 'x', csv: 'a\n1\n' } }), AUDITED);
        assert.deepEqual(noPlant.body.data.importDataset.fieldErrors, [
          { path: 'plantId', message: 'a key limited to some plants must import into one of them' },
        ]);
        const other = await unchanged(app.database, () => engineerA(IMPORT, { input: { name: 'x', csv: 'a\n1\n', plantId: B } }), AUDITED);
        assert.deepEqual(other.body.data.importDataset, { __typename: 'NotFoundError', code: 'NOT_FOUND', message: `Plant "${B}" not found` });
        const mine = (await engineerA(IMPORT, { input: { name: 'mine', csv: 'a\n1\n', plantId: A } })).body.data.importDataset.dataset.id;
        const ofB = (await app.gql(IMPORT, { input: { name: 'of B', csv: 'a\n1\n', plantId: B } })).body.data.importDataset.dataset.id;
        const global = (await app.gql(IMPORT, { input: { name: 'global', csv: 'a\n1\n' } })).body.data.importDataset.dataset.id;

        const seen = await engineerA(
          `query($b: ID!, $g: ID!) { datasets(first: 100) { totalCount edges { node { id } } } b: dataset(id: $b) { id } g: dataset(id: $g) { id } nb: node(id: $b) { id } ng: node(id: $g) { id } }`,
          { b: ofB, g: global },
        );
        const ids = seen.body.data.datasets.edges.map((e: { node: { id: string } }) => e.node.id);
        assert.ok(ids.includes(mine));
        assert.ok(!ids.includes(ofB) && !ids.includes(global), JSON.stringify(ids));
        assert.equal(seen.body.data.datasets.totalCount, ids.length);
        assert.deepEqual([seen.body.data.b, seen.body.data.g, seen.body.data.nb, seen.body.data.ng], [null, null, null, null]);
        assert.deepEqual(
          (await listDatasets(app.database, { plantIds: [plantA] })).map((d) => encodeId('Dataset', d.id)),
          ids,
        );
        const del = await unchanged(app.database, () => engineerA('mutation($id: ID!) { deleteDataset(id: $id) { __typename } }', { id: ofB }), AUDITED);
        assert.equal(del.body.data.deleteDataset.__typename, 'NotFoundError');
      });
    });
  });
}
