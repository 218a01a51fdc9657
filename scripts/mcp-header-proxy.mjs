// Used by scripts/mcp-conformance.sh --header: a loopback HTTP proxy that forwards every request to
// TARGET (its path replaced by TARGET's) with one extra header, streaming answers back as they come
// (server-sent events included). The conformance suite's client sends no credentials; a gateway
// that requires a bearer token gets it this way. Prints its own URL on the first line.
//   node scripts/mcp-header-proxy.mjs http://127.0.0.1:8080/mcp 'Authorization: Bearer …'
import http from 'node:http';
import https from 'node:https';

const [target, header] = process.argv.slice(2);
if (!target || !header?.includes(':')) {
  console.error('usage: mcp-header-proxy.mjs TARGET_URL "Name: value"');
  process.exit(2);
}
const to = new URL(target);
const name = header.slice(0, header.indexOf(':')).trim().toLowerCase();
const value = header.slice(header.indexOf(':') + 1).trim();
const client = to.protocol === 'https:' ? https : http;

const server = http.createServer((req, res) => {
  const headers = { ...req.headers, host: to.host, [name]: value };
  const up = client.request(to, { method: req.method, headers }, (upRes) => {
    res.writeHead(upRes.statusCode, upRes.headers);
    upRes.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
  res.on('close', () => up.destroy());
});
server.listen(0, '127.0.0.1', () => console.log(`http://127.0.0.1:${server.address().port}${to.pathname}`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
