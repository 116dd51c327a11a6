// Child process of bench/alerts-fanout.ts: opens N WebSocket connections speaking the graphql-transport-ws protocol
// directly (a thin client, so that the measurement is the server's delivery, not a client library's overhead), one
// alerts subscription each, and records when every event arrives (epoch ms, keyed by the breaching value).
import WebSocket from 'ws';

const [url, key, plantId, nRaw] = process.argv.slice(2);
const n = Number(nRaw);
const arrivals: Record<string, number[]> = {};
let received = 0;
let acked = 0;
let exiting = false;
let failed = 0;
const sockets: WebSocket[] = [];
const query = `subscription($p: ID!) { alerts(plantId: $p) { kind alert { value severity } } }`;

for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  sockets.push(ws);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
  ws.on('message', (data) => {
    const at = Date.now();
    const msg = JSON.parse(String(data));
    if (msg.type === 'connection_ack') {
      acked++;
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { p: plantId } } }));
    } else if (msg.type === 'next' && msg.payload?.errors) {
      process.send!({ type: 'error', error: `error result: ${JSON.stringify(msg.payload.errors)}` });
    } else if (msg.type === 'next') {
      const value = String(msg.payload?.data?.alerts?.alert?.value);
      (arrivals[value] ??= []).push(at);
      received++;
    } else if (msg.type === 'error') {
      process.send!({ type: 'error', error: JSON.stringify(msg.payload) });
    } else if (msg.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong' }));
    }
  });
  ws.on('error', (e) => process.send!({ type: 'error', error: e.message }));
  // A socket the server closes before the end is a failed subscriber: reported, so the run never waits for it.
  ws.on('close', (code, reason) => {
    if (exiting) return;
    failed++;
    process.send!({ type: 'error', error: `closed by the server: ${code} ${String(reason)}` });
  });
}
const waitAcked = setInterval(() => {
  if (acked + failed >= n) {
    clearInterval(waitAcked);
    // Give the server a moment to register every subscription after the acks.
    setTimeout(() => process.send!({ type: 'ready' }), 1_500);
  }
}, 50);
process.on('message', (m: any) => {
  if (m.type === 'report') process.send!({ type: 'report', arrivals, received });
  if (m.type === 'exit') {
    exiting = true;
    for (const s of sockets) s.close();
    setTimeout(() => process.exit(0), 200);
  }
});
