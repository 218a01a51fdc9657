// A real OpenID Connect provider for tests: the npm package `oidc-provider`, run in-process on
// 127.0.0.1, issuing JWT access tokens (RFC 9068, header typ "at+jwt") through the
// client_credentials grant with resource indicators (RFC 8707).
//
//   const idp = await startIdp({ clients: [{ client_id: 'a', client_secret: 's', claims: { tenantid: 't1' } }] });
//   const jwt = await idp.token({ alg: 'ES256', clientId: 'a', audience: 'portcullis', claims: { roles: ['Agent.Invoke'] } });
//   await idp.rotateKeys();            // new kids; the old keys leave the JWKS
//   await idp.stop();                  // in an after() hook
//
// Tokens are obtained through a real HTTP POST to the provider's token endpoint
// (grant_type=client_credentials, client_secret_basic, resource=<audience>). The per-call knobs
// that OAuth has no parameter for (alg, claims, ttl, header/payload overrides) travel in a
// test-only request header, X-Idp-Test-Request, naming an entry in this module's memory; a request
// without it gets the defaults (RS256, the client's claims, the configured TTL).
//
// Key rotation builds a new Provider (oidc-provider takes its keys at construction) and swaps it
// in behind the same HTTP server, so the port and the issuer stay the same and no request is
// refused while it happens.

import crypto from 'node:crypto';
import http from 'node:http';

// oidc-provider prints its development notices with console.info / console.warn, prefixed
// "oidc-provider NOTICE:" / "oidc-provider WARNING:" (including "Unsupported runtime" on Node 20,
// which it runs on fine). They are dropped only while this module imports or constructs the
// provider, and only those lines; IDP_DEBUG=1 shows them.
const NOISE = /^(\x1b\[[0-9;]*m)?oidc-provider (NOTICE|WARNING):/;
async function quietly(fn) {
  if (process.env.IDP_DEBUG) return fn();
  const { info, warn } = console;
  const filter = (orig) => (...args) => {
    if (typeof args[0] === 'string' && NOISE.test(args[0])) return;
    orig.apply(console, args);
  };
  console.info = filter(info);
  console.warn = filter(warn);
  try {
    return await fn();
  } finally {
    console.info = info;
    console.warn = warn;
  }
}

let ProviderClass;
async function loadProvider() {
  if (!ProviderClass) ProviderClass = (await quietly(() => import('oidc-provider'))).default;
  return ProviderClass;
}

// ---------------------------------------------------------------------------------------------
// keys

const KEY_KINDS = {
  RS256: { type: 'rsa', opts: { modulusLength: 2048 }, prefix: 'rs256' },
  PS256: { type: 'rsa', opts: { modulusLength: 2048 }, prefix: 'ps256' },
  ES256: { type: 'ec', opts: { namedCurve: 'P-256' }, prefix: 'es256' },
  EdDSA: { type: 'ed25519', opts: {}, prefix: 'eddsa' },
};
export const SUPPORTED_ALGS = Object.freeze(Object.keys(KEY_KINDS));

// A fresh private signing key as a JWK carrying kid, alg and use: 'sig'.
export function generateSigningJwk(alg, kid) {
  const kind = KEY_KINDS[alg];
  if (!kind) throw new Error(`idp: unsupported alg ${alg} (supported: ${SUPPORTED_ALGS.join(', ')})`);
  const { privateKey } = crypto.generateKeyPairSync(kind.type, kind.opts);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: kid ?? `${kind.prefix}-${crypto.randomBytes(6).toString('hex')}`, alg, use: 'sig' };
}

// The public half of a private JWK (what the JWKS endpoint publishes).
export function publicJwk(jwk) {
  const pub = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'jwk' });
  return { ...pub, kid: jwk.kid, alg: jwk.alg, use: jwk.use };
}

// ---------------------------------------------------------------------------------------------

const TEST_HEADER = 'x-idp-test-request';
const AUDIENCE_URN = 'urn:portcullis-test:audience:';

// RFC 8707 wants an absolute URI without a fragment as the resource; any other audience string
// is carried inside a URN and unwrapped again when the provider asks about the resource server.
function resourceFor(audience) {
  const u = URL.parse(audience);
  return u && !u.href.includes('#') && !audience.includes('#') ? audience : AUDIENCE_URN + encodeURIComponent(audience);
}
function audienceFor(resource) {
  return resource.startsWith(AUDIENCE_URN) ? decodeURIComponent(resource.slice(AUDIENCE_URN.length)) : resource;
}

const dropUndefined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

const DEFAULT_CLIENTS = [{ client_id: 'test-client', client_secret: 'test-secret', claims: {} }];

/**
 * Starts an OIDC provider on 127.0.0.1.
 * @param {object} [opts]
 * @param {number} [opts.port=0]             0 picks a free port
 * @param {Array<{client_id: string, client_secret: string, claims?: object}>} [opts.clients]
 *        clients allowed the client_credentials grant (client_secret_basic); `claims` are added
 *        to every access token issued to that client. Default: test-client / test-secret.
 * @param {string} [opts.audience='portcullis']   audience of token() calls that name none
 * @param {number} [opts.accessTokenTTL=600]      seconds
 * @param {string[]} [opts.algs=['RS256','ES256']] one signing key per alg (also PS256, EdDSA)
 * @param {string} [opts.jwksCacheControl]         Cache-Control header of the JWKS response
 */
export async function startIdp(opts = {}) {
  const Provider = await loadProvider();
  const clients = (opts.clients ?? DEFAULT_CLIENTS).map((c) => ({ claims: {}, ...c }));
  const clientsById = new Map(clients.map((c) => [c.client_id, c]));
  const defaultAudience = opts.audience ?? 'portcullis';
  const defaultTtl = opts.accessTokenTTL ?? 600;
  const algs = opts.algs ?? ['RS256', 'ES256'];
  let jwksCacheControl = opts.jwksCacheControl;

  let signing = Object.fromEntries(algs.map((a) => [a, generateSigningJwk(a)])); // alg → private JWK
  let published = Object.values(signing);                                       // private JWKs in the JWKS

  const pending = new Map(); // X-Idp-Test-Request id → per-call options
  const serverErrors = [];   // errors the provider reported (kept for failure messages)

  let provider;
  let callback = (_req, res) => { res.statusCode = 503; res.end(); };
  const server = http.createServer((req, res) => callback(req, res));
  server.keepAliveTimeout = 1000;
  // A test that forgets stop() still ends: the listening socket alone keeps no process alive.
  server.unref();
  let port = opts.port ?? 0;
  let issuer;
  let listening = false;
  let stopping = null;

  function listen() {
    return new Promise((resolve, reject) => {
      const onError = (e) => reject(e);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        listening = true;
        stopping = null;
        resolve();
      });
    });
  }

  function perCall(ctx) {
    const id = ctx.get(TEST_HEADER);
    return (id && pending.get(id)) || {};
  }

  function buildProvider() {
    const config = {
      clients: clients.map((c) => ({
        client_id: c.client_id,
        client_secret: c.client_secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      jwks: { keys: published.map((k) => ({ ...k })) },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: false },
        revocation: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resourceFor(defaultAudience),
          useGrantedResource: () => true,
          getResourceServerInfo: (ctx, resource) => {
            const call = perCall(ctx);
            const alg = call.alg ?? 'RS256';
            const key = signing[alg];
            if (!key) throw new Error(`idp: no signing key for ${alg} (configured: ${Object.keys(signing).join(', ')})`);
            return {
              scope: ctx.oidc.params.scope ?? '',
              audience: audienceFor(resource),
              accessTokenTTL: call.ttl ?? defaultTtl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg, kid: key.kid } },
            };
          },
        },
      },
      extraTokenClaims: (ctx, token) => {
        const client = clientsById.get(token.clientId);
        return dropUndefined({ ...(client?.claims ?? {}), ...(perCall(ctx).claims ?? {}) });
      },
      formats: {
        customizers: {
          // Overrides of the standard claims and header fields, for tests that need a token the
          // provider would not mint by itself. A value of undefined removes the field.
          jwt: (ctx, _token, jwt) => {
            const { header, payload } = perCall(ctx);
            if (payload) Object.assign(jwt.payload, payload);
            if (header) jwt.header = { ...(jwt.header ?? {}), ...header };
            jwt.payload = dropUndefined(jwt.payload);
          },
        },
      },
      ttl: {
        AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? defaultTtl,
        ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? defaultTtl,
      },
      findAccount: () => undefined,
      clientBasedCORS: () => true,
      cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    };
    const p = new Provider(issuer, config);
    p.on('server_error', (_ctx, err) => {
      serverErrors.push(err);
      if (process.env.IDP_DEBUG) console.error('[idp] server_error', err);
    });
    p.use(async (ctx, next) => {
      await next();
      if (jwksCacheControl && ctx.oidc?.route === 'jwks') ctx.set('Cache-Control', jwksCacheControl);
    });
    return p;
  }

  async function install() {
    provider = await quietly(() => buildProvider());
    callback = provider.callback();
  }

  await listen();
  port = server.address().port;
  issuer = `http://127.0.0.1:${port}`;
  await install();

  const currentKids = () => Object.fromEntries(Object.entries(signing).map(([a, k]) => [a, k.kid]));

  async function tokenResponse({ alg = 'RS256', clientId, clientSecret, audience = defaultAudience, scope, claims, ttl, header, payload, timeoutMs = 5000 } = {}) {
    const client = clientsById.get(clientId ?? clients[0].client_id);
    if (!client) throw new Error(`idp: unknown client ${clientId}`);
    if (!signing[alg]) throw new Error(`idp: no signing key for ${alg} (configured: ${Object.keys(signing).join(', ')})`);
    const id = crypto.randomUUID();
    pending.set(id, { alg, claims, ttl, header, payload });
    const form = new URLSearchParams({ grant_type: 'client_credentials', resource: resourceFor(audience) });
    if (scope) form.set('scope', Array.isArray(scope) ? scope.join(' ') : scope);
    const basic = Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(clientSecret ?? client.client_secret)}`).toString('base64');
    const errorsBefore = serverErrors.length;
    try {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
          [TEST_HEADER]: id,
        },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status !== 200) {
        const cause = serverErrors.slice(errorsBefore).map((e) => e?.message).join('; ');
        throw Object.assign(new Error(`idp: token endpoint answered ${res.status}: ${text}${cause ? ` (server error: ${cause})` : ''}`), { status: res.status, body: text });
      }
      return JSON.parse(text);
    } finally {
      pending.delete(id);
    }
  }

  const idp = {
    get issuer() { return issuer; },
    get port() { return port; },
    get jwksUri() { return `${issuer}/jwks`; },
    get discoveryUrl() { return `${issuer}/.well-known/openid-configuration`; },
    get tokenEndpoint() { return `${issuer}/token`; },
    get provider() { return provider; },
    clients,
    serverErrors,

    // The token endpoint's JSON answer: {access_token, expires_in, token_type: 'Bearer', scope?}.
    tokenResponse,

    // A JWT access token string. alg: one of opts.algs; clientId: default the first client
  // (clientSecret: send another secret than the registered one);
    // audience: the `aud` (default opts.audience); scope: string or array; claims: merged over
    // the client's claims; ttl: seconds; header / payload: fields set over what the provider
    // produced (e.g. { typ: 'JWT' }, { sub: 'alice', exp: 1 }), undefined deletes.
    async token(args = {}) {
      return (await tokenResponse(args)).access_token;
    },

    // The signing kid per alg, e.g. { RS256: 'rs256-…', ES256: 'es256-…' }.
    currentKids,

    // Every kid the JWKS publishes (signing kids first).
    publishedKids: () => published.map((k) => k.kid),

    // The private JWK currently signing `alg` (for tests that forge tokens with the IdP's key).
    signingKey: (alg = 'RS256') => ({ ...signing[alg] }),

    // New keys for every alg, with new kids; keep: the previous keys stay in the JWKS (no longer
    // signing). Resolves to currentKids() once the new provider answers.
    async rotateKeys({ keep = false } = {}) {
      const fresh = Object.fromEntries(Object.keys(signing).map((a) => [a, generateSigningJwk(a)]));
      const old = published;
      signing = fresh;
      published = [...Object.values(fresh), ...(keep ? old : [])];
      await install();
      return currentKids();
    },

    // Changes the JWKS Cache-Control header from now on (undefined: the provider's default).
    setJwksCacheControl(value) { jwksCacheControl = value; },

    // Stops listening and drops open connections; resolves once closed. Idempotent.
    stop() {
      if (!listening) return stopping ?? Promise.resolve();
      listening = false;
      stopping = new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopping;
    },

    // Listens again on the same port (same issuer) after stop(). No-op when listening.
    async start() {
      if (listening) return;
      if (stopping) await stopping;
      await listen();
    },
  };
  return idp;
}
