// Load generator for bench/dashboard.ts, run in its own process so that it does not share the server's CPU time
// accounting. Receives { type: 'run', ... } messages, runs autocannon, and answers with the figures.
import { createRequire } from 'node:module';

interface RunMessage {
  type: 'run';
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  duration: number;
}

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

process.on('message', async (m: RunMessage | { type: 'exit' }) => {
  if (m.type === 'exit') process.exit(0);
  try {
    const r = await autocannon({ url: m.url, method: 'POST', headers: m.headers, body: m.body, connections: m.connections, duration: m.duration });
    process.send!({
      type: 'result',
      requests: r.requests.total,
      seconds: r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
      timeouts: r.timeouts,
    });
  } catch (err) {
    process.send!({ type: 'error', error: String(err) });
  }
});
process.send!({ type: 'ready' });
