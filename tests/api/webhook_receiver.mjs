// Webhook receiver for the C++ API tests (tests/api): a tiny, dependency-free HTTP server that
// the tests start as a subprocess (`node webhook_receiver.mjs <port>`, 0 = any free port) to
// receive the server's webhooks and check their Standard Webhooks signatures
// (https://www.standardwebhooks.com/) INDEPENDENTLY of the server's C++ code.
// Binds 127.0.0.1 and prints one line `{"listening": <port>}` once ready.
//   POST /_control  {"secrets","fail","fail_status","hang_ms","hang_count","status","redirect_to"}
//                   (any subset; each given field replaces its previous value) -> 200 {}
//   GET  /_received JSON array of every delivery so far, in arrival order
//   POST /_reset    forget deliveries and configuration
//   POST <other>    a delivery; anything else -> 404
import http from 'node:http';
import crypto from 'node:crypto';

const MAX_BODY = 1024 * 1024;   // 1 MiB; larger bodies get 413
const TOLERANCE_S = 5 * 60;     // timestamp must be within 5 minutes of now

const defaults = () => ({ secrets: [], fail: 0, fail_status: 500, hang_ms: 0, hang_count: 0,
                          status: 200, redirect_to: null });
let config = defaults();
let failed = 0;                 // failures answered since `fail` was last set
let received = [];

// Index of the first configured secret that any `v1,<sig>` entry matches, or -1.
function verify(id, timestamp, signature, body) {
  if (!id || !timestamp || !signature || !/^\d+$/.test(timestamp)) return -1;
  if (Math.abs(Math.floor(Date.now() / 1000) - Number(timestamp)) > TOLERANCE_S) return -1;
  const given = signature.split(' ').filter((e) => e.startsWith('v1,')).map((e) => e.slice(3));
  for (let i = 0; i < config.secrets.length; i++) {
    const secret = String(config.secrets[i]);
    const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
    const expected = Buffer.from(crypto.createHmac('sha256', key)
      .update(`${id}.${timestamp}.`).update(body).digest('base64'));
    for (const sig of given) {
      const candidate = Buffer.from(sig);
      if (candidate.length === expected.length && crypto.timingSafeEqual(candidate, expected)) {
        return i;
      }
    }
  }
  return -1;
}

// Content-Length, never chunked: the tests' HTTP client reads sized bodies only.
function send(res, status, body, headers = {}) {
  res.writeHead(status, {
    'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers,
  });
  res.end(body);
}
const sendJson = (res, status, value) =>
  send(res, status, JSON.stringify(value), { 'content-type': 'application/json' });

// Reads the whole body; resolves null (after answering 413) when it exceeds MAX_BODY.
function readBody(req, res) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) over = true; else chunks.push(chunk);
    });
    req.on('end', () => {
      if (over) { send(res, 413, 'body too large', { connection: 'close' }); resolve(null); }
      else resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function control(res, raw) {
  let update;
  try { update = JSON.parse(raw.toString('utf8') || '{}'); } catch { update = null; }
  if (!update || typeof update !== 'object' || Array.isArray(update)) {
    return send(res, 400, 'control body must be a JSON object');
  }
  for (const key of Object.keys(defaults())) {
    if (key in update) config[key] = update[key];
  }
  if ('fail' in update) failed = 0;
  sendJson(res, 200, {});
}

function deliver(req, res, raw) {
  const h = (name) => req.headers[name] ?? null;
  const body = raw.toString('utf8');
  const signature = h('webhook-signature');
  const index = verify(h('webhook-id'), h('webhook-timestamp'), signature, raw);
  const record = {
    path: req.url, id: h('webhook-id'), timestamp: h('webhook-timestamp'), signature, body,
    verified: index >= 0, verified_secret_index: index,
    signatures: (signature ?? '').split(' ').filter((e) => e.startsWith('v1,')).length,
    received_at_ms: Date.now(), answered: null, content_type: h('content-type'),
  };
  received.push(record);
  // Decide the answer at arrival, so that it follows the arrival order.
  let status = config.status ?? 200;
  let text = 'ok';
  const headers = {};
  if (config.fail > 0) {
    config.fail--;
    status = config.fail_status ?? 500;
    text = 'failing on purpose ' + ++failed;
  } else if (config.redirect_to) {
    status = 302;
    text = 'redirect';
    headers.location = String(config.redirect_to);
  }
  const finish = () => {
    record.answered = status;
    if (status === 204 || status === 304) { res.writeHead(status); res.end(); }
    else send(res, status, text, headers);
  };
  if (config.hang_count > 0) {
    config.hang_count--;
    setTimeout(finish, Number(config.hang_ms) || 0);
  } else {
    finish();
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/_received') return sendJson(res, 200, received);
    if (req.method !== 'POST') return send(res, 404, 'not found');
    const raw = await readBody(req, res);
    if (raw === null) return;
    if (path === '/_control') return control(res, raw);
    if (path === '/_reset') {
      config = defaults(); failed = 0; received = [];
      return sendJson(res, 200, {});
    }
    deliver(req, res, raw);
  } catch (err) {
    if (!res.headersSent) send(res, 500, 'receiver error: ' + err.message);
  }
});

server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`{"listening": ${server.address().port}}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
