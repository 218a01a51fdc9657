// Webhook receivers for the integration tests (webhooks.test.mjs, job_webhooks.test.mjs): a
// loopback HTTP server that records every delivery, and the signature check docs/webhooks.md
// tells receivers to make, written with node:crypto.
import crypto from 'node:crypto';
import http from 'node:http';

export const TOLERANCE_S = 300;

// What docs/webhooks.md tells a receiver to do. Returns null when the delivery is accepted, else
// the reason it is refused. `seen` (a Set), when given, rejects a delivery id + timestamp twice.
export function verify(secret, headers, body, seen) {
  const ts = headers['x-portcullis-timestamp'];
  const sig = headers['x-portcullis-signature'];
  const id = headers['x-portcullis-delivery-id'];
  if (!ts || !sig || !id) return 'missing headers';
  if (!/^\d+$/.test(ts)) return 'bad timestamp';
  if (Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) return 'stale timestamp';
  const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
  const a = Buffer.from(expected);
  const b = Buffer.from(sig);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return 'bad signature';
  if (seen && seen.has(`${id}/${ts}`)) return 'replay';
  if (seen) seen.add(`${id}/${ts}`);
  return null;
}

// A receiver: records every request (raw body, headers) per path; `plan[path]` lists statuses
// to answer in turn (200 once used up); `hold[path]` requests are left unanswered (given to onHold).
export async function startReceiver() {
  const got = [];
  const plan = {};
  const hold = {};
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      got.push({ path: req.url, method: req.method, headers: req.headers, body });
      if (hold[req.url] > 0) {
        hold[req.url] -= 1;
        return receiver.onHold?.(res);
      }
      const queue = plan[req.url] ?? [];
      const status = queue.length ? queue.shift() : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const receiver = {
    port: srv.address().port, got, plan, hold, onHold: null,
    on: (p) => got.filter((x) => x.path === p),
    close: () => { srv.closeAllConnections(); return new Promise((r) => srv.close(r)); },
  };
  return receiver;
}
