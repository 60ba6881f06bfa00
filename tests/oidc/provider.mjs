// Test OpenID Provider for Centurion's OIDC tests: the real `oidc-provider` package on loopback.
//
//   node provider.mjs [--port N] [--jwks FILE] [--issuer URL]      start (stdout: "READY http://127.0.0.1:N")
//                     [--tls-cert PEM --tls-key PEM]                 serve https instead (READY https://…)
//   node provider.mjs genkey ES256:kid1 [RS256:kid2 ...] [--no-alg]  print a private JWKS on stdout
//   node provider.mjs decode TOKEN                                  print a JWT's header and payload
//   node provider.mjs sign --jwks FILE [--kid K] [--alg A] HEADER PAYLOAD
//                                                                   sign two raw JSON texts, byte for byte
//
// Everything is also settable by environment (flags win). See /work/notes/oidc.md.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
function flag(name) {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}
function bool(name) {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return false;
  argv.splice(i, 1);
  return true;
}
function die(msg) {
  process.stderr.write(`provider.mjs: ${msg}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- genkey
const CURVES = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
function genKey(alg, kid, withAlg) {
  let pair;
  if (/^(RS|PS)(256|384|512)$/.test(alg)) pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  else if (CURVES[alg]) pair = crypto.generateKeyPairSync('ec', { namedCurve: CURVES[alg] });
  else if (alg === 'EdDSA') pair = crypto.generateKeyPairSync('ed25519');
  else die(`genkey: unsupported alg ${alg}`);
  const jwk = pair.privateKey.export({ format: 'jwk' });
  return { kid: kid || crypto.randomUUID(), use: 'sig', ...(withAlg ? { alg } : {}), ...jwk };
}

if (argv[0] === 'decode') { // print header and payload of a compact JWS (no verification)
  const [h, p] = (argv[1] ?? fs.readFileSync(0, 'utf8')).trim().split('.');
  const dec = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
  process.stdout.write(`${JSON.stringify({ header: dec(h), payload: dec(p) }, null, 2)}\n`);
  process.exit(0);
}

if (argv[0] === 'sign') { // a compact JWS over exactly these header and payload texts
  const file = flag('jwks');
  const kid = flag('kid');
  const algArg = flag('alg');
  const [, headerText, payloadText] = argv;
  if (!file || headerText === undefined || payloadText === undefined) die('usage: provider.mjs sign --jwks FILE [--kid K] [--alg A] HEADER PAYLOAD');
  const { keys } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const jwk = kid ? keys.find((k) => k.kid === kid) : keys[0];
  if (!jwk) die(`sign: no key ${kid}`);
  const alg = algArg ?? jwk.alg ?? { RSA: 'RS256', EC: 'ES256', OKP: 'EdDSA' }[jwk.kty];
  const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`;
  const data = Buffer.from(input);
  const bits = alg.slice(2);
  let sig;
  if (/^RS(256|384|512)$/.test(alg)) sig = crypto.sign(`sha${bits}`, data, key);
  else if (/^PS(256|384|512)$/.test(alg)) sig = crypto.sign(`sha${bits}`, data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 });
  else if (/^ES(256|384|512)$/.test(alg)) sig = crypto.sign(`sha${alg === 'ES512' ? 512 : bits}`, data, { key, dsaEncoding: 'ieee-p1363' });
  else if (alg === 'EdDSA') sig = crypto.sign(null, data, key);
  else die(`sign: unsupported alg ${alg}`);
  process.stdout.write(`${input}.${sig.toString('base64url')}\n`);
  process.exit(0);
}

if (argv[0] === 'genkey') {
  const noAlg = bool('no-alg');
  const specs = argv.slice(1);
  if (!specs.length) die('usage: provider.mjs genkey ALG[:KID] ... [--no-alg]');
  const keys = specs.map((s) => {
    const [alg, kid] = s.split(':');
    return genKey(alg, kid, !noAlg);
  });
  process.stdout.write(`${JSON.stringify({ keys }, null, 2)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------- configuration
const env = process.env;
const HOST = flag('host') ?? env.OIDC_HOST ?? '127.0.0.1';
if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(HOST)) die(`refusing to listen on non-loopback ${HOST}`);
const PORT = Number(flag('port') ?? env.OIDC_PORT ?? env.PORT ?? 0);
const TLS_CERT = flag('tls-cert') ?? env.OIDC_TLS_CERT; // PEM files: serve https instead of http
const TLS_KEY = flag('tls-key') ?? env.OIDC_TLS_KEY;
const JWKS_FILE = flag('jwks') ?? env.OIDC_JWKS_FILE;
const ISSUER_ARG = flag('issuer') ?? env.OIDC_ISSUER; // default: http://HOST:PORT
const MOUNT_ARG = flag('mount') ?? env.OIDC_MOUNT; // default: the issuer's path
const RESOURCES = (flag('resources') ?? env.OIDC_RESOURCES ?? 'http://127.0.0.1:9999/api')
  .split(',').map((s) => s.trim()).filter(Boolean);
const SCOPES = (env.OIDC_SCOPES ?? 'api:read api:write reports:read').split(/[\s,]+/).filter(Boolean);
const TTL = Number(env.OIDC_AT_TTL ?? 300);
const ROLE_PATHS = (env.OIDC_ROLE_PATHS ?? 'roles,realm_access.roles').split(',').map((s) => s.trim()).filter(Boolean);
const TEST_PARAMS = (env.OIDC_TEST_PARAMS ?? '1') !== '0';
const LOG = (env.OIDC_LOG ?? '0') !== '0';

// Clients: client_id -> { secret, roles, alg, typ, scope, claims }
// Default: one client whose roles/alg/claims can be chosen per request (x_* params, see notes).
const DEFAULT_CLIENTS = [
  {
    client_id: env.OIDC_CLIENT_ID ?? 'centurion-test',
    client_secret: env.OIDC_CLIENT_SECRET ?? 'centurion-test-secret',
    roles: (env.OIDC_CLIENT_ROLES ?? 'admin').split(',').filter(Boolean),
  },
];
let CLIENTS = DEFAULT_CLIENTS;
const clientsFile = flag('clients') ?? env.OIDC_CLIENTS_FILE;
if (clientsFile) CLIENTS = JSON.parse(fs.readFileSync(clientsFile, 'utf8'));
else if (env.OIDC_CLIENTS) CLIENTS = JSON.parse(env.OIDC_CLIENTS);
const clientExtras = new Map(CLIENTS.map((c) => [c.client_id, c]));

// Live test knobs (also changeable with POST /__test/config).
const knobs = {
  jwks_status: 200, // non-200: the JWKS endpoint answers with this status
  discovery_status: 200,
  jwks_delay_ms: Number(env.OIDC_JWKS_DELAY_MS ?? 0),
  jwks_max_age: env.OIDC_JWKS_MAX_AGE === undefined ? null : Number(env.OIDC_JWKS_MAX_AGE), // Cache-Control max-age
};
const stats = { discovery: 0, jwks: 0, token: 0, other: 0 };

if (argv.length) die(`unknown arguments: ${argv.join(' ')}`);

let devJwks;
function loadJwks() {
  if (!JWKS_FILE) {
    if (!devJwks) {
      devJwks = { keys: [genKey(env.OIDC_ALG ?? 'RS256', 'dev-key', true)] };
      process.stderr.write('provider.mjs: no --jwks/OIDC_JWKS_FILE, using a fresh generated key "dev-key"\n');
    }
    return devJwks;
  }
  const jwks = JSON.parse(fs.readFileSync(JWKS_FILE, 'utf8'));
  if (!Array.isArray(jwks.keys) || !jwks.keys.length) throw new Error(`${JWKS_FILE}: no keys`);
  return jwks;
}

// alg usable with a private JWK (when the JWK names none, the first one that fits)
function algFor(jwk) {
  if (jwk.alg) return jwk.alg;
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv];
  if (jwk.kty === 'OKP') return 'EdDSA';
  return undefined;
}

// can this private JWK sign with alg (oidc-provider's rule: a JWK's own alg must match)
function fits(jwk, alg) {
  if (jwk.alg) return jwk.alg === alg;
  if (jwk.kty === 'RSA') return /^(RS|PS)(256|384|512)$/.test(alg);
  if (jwk.kty === 'OKP') return alg === 'EdDSA';
  return algFor(jwk) === alg;
}

function setPath(obj, path, value) {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p];
  }
  o[parts[parts.length - 1]] = value;
}

function testParam(ctx, name) {
  if (!TEST_PARAMS) return undefined;
  const v = ctx.oidc?.body?.[name];
  return typeof v === 'string' ? v : undefined;
}
function jsonParam(ctx, name) {
  const v = testParam(ctx, name);
  if (v === undefined) return undefined;
  try {
    const o = JSON.parse(v);
    if (o && typeof o === 'object' && !Array.isArray(o)) return o;
  } catch { /* fall through */ }
  throw new Error(`${name} must be a JSON object`);
}

// ---------------------------------------------------------------- provider
const { default: Provider, errors } = await import('oidc-provider');

function buildProvider(issuer, jwks) {
  const keys = jwks.keys;
  // Signing key: OIDC_SIGN_KID, else the first key of the file. Per request: x_alg / x_kid.
  const signKid = env.OIDC_SIGN_KID ?? keys[0].kid;
  const defaultKey = keys.find((k) => k.kid === signKid);
  if (!defaultKey) throw new Error(`OIDC_SIGN_KID ${signKid} not in key file`);
  const defaultAlg = env.OIDC_ALG ?? algFor(defaultKey);

  const configuration = {
    jwks,
    clients: CLIENTS.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    })),
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    clientDefaults: { id_token_signed_response_alg: algFor(keys[0]) },
    cookies: { keys: ['centurion-test-cookie-key'] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // no `resource` parameter -> the first configured resource
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? RESOURCES[0],
        getResourceServerInfo: async (ctx, resource, client) => {
          if (!RESOURCES.includes(resource)) throw new errors.InvalidTarget(`unknown resource ${resource}`);
          const extra = clientExtras.get(client.clientId) ?? {};
          const alg = testParam(ctx, 'x_alg') ?? extra.alg ?? defaultAlg;
          const kid = testParam(ctx, 'x_kid') ?? extra.kid
            ?? (fits(defaultKey, alg) ? signKid : keys.find((k) => fits(k, alg))?.kid);
          if (!keys.some((k) => k.kid === kid && fits(k, alg))) {
            throw new errors.InvalidRequest(`no signing key for alg ${alg}${kid ? ` and kid ${kid}` : ''}`);
          }
          return {
            audience: resource,
            scope: SCOPES.join(' '),
            accessTokenTTL: TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid } },
          };
        },
      },
    },
    scopes: ['openid'],
    ttl: {
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL,
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? TTL,
    },
    // claims before the standard ones (cannot override iss/aud/exp/...)
    extraTokenClaims: async (ctx, token) => {
      const extra = clientExtras.get(token.clientId) ?? {};
      const out = structuredClone(extra.claims ?? {});
      const rolesParam = testParam(ctx, 'x_roles');
      const roles = rolesParam !== undefined ? rolesParam.split(/[\s,]+/).filter(Boolean) : extra.roles;
      if (roles) {
        for (const p of extra.role_paths ?? ROLE_PATHS) setPath(out, p.replace('{client}', token.clientId), roles);
      }
      return out;
    },
    formats: {
      customizers: {
        // after the standard claims: test overrides of header and payload
        jwt: async (ctx, token, jwt) => {
          const extra = clientExtras.get(token.clientId) ?? {};
          const header = { ...(extra.typ ? { typ: extra.typ } : {}), ...(jsonParam(ctx, 'x_header') ?? {}) };
          const typ = testParam(ctx, 'x_typ');
          if (typ) header.typ = typ;
          if (Object.keys(header).length) jwt.header = header;
          const exp = testParam(ctx, 'x_exp'); // seconds from now, may be negative
          if (exp !== undefined) {
            const now = Math.floor(Date.now() / 1000);
            jwt.payload.exp = now + Number(exp);
            jwt.payload.iat = Math.min(jwt.payload.iat, jwt.payload.exp - 60);
          }
          Object.assign(jwt.payload, jsonParam(ctx, 'x_claims') ?? {});
          for (const [k, v] of Object.entries(jwt.payload)) if (v === null) delete jwt.payload[k];
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.proxy = false;
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/jwks' && ctx.status === 200 && knobs.jwks_max_age !== null) {
      ctx.set('cache-control', `public, max-age=${knobs.jwks_max_age}`);
    }
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`provider.mjs: server_error ${err.stack}\n`));
  provider.on('grant.error', (_ctx, err) => LOG && process.stderr.write(`provider.mjs: grant.error ${err.message} ${err.error_description ?? ''}\n`));
  return { provider, kids: keys.map((k) => k.kid), signKid, defaultAlg };
}

// ---------------------------------------------------------------- server
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
let current; // { provider, callback, kids }
let mount = '';

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

const handler = async (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (LOG) process.stderr.write(`provider.mjs: ${req.method} ${req.url}\n`);
  try {
    // test control endpoints (not part of the OP)
    if (url.pathname === '/__test/stats') return sendJson(res, 200, { ...stats, kids: current.kids });
    if (url.pathname === '/__test/reset' && req.method === 'POST') {
      for (const k of Object.keys(stats)) stats[k] = 0;
      return sendJson(res, 200, stats);
    }
    if (url.pathname === '/__test/config' && req.method === 'POST') {
      Object.assign(knobs, JSON.parse((await readBody(req)) || '{}'));
      return sendJson(res, 200, knobs);
    }
    if (url.pathname === '/__test/reload' && req.method === 'POST') { // re-read the key file, no restart
      try { reload(); } catch (e) { return sendJson(res, 500, { error: e.message }); }
      return sendJson(res, 200, { kids: current.kids, sign_kid: current.signKid });
    }

    if (mount && !(url.pathname === mount || url.pathname.startsWith(`${mount}/`))) {
      return sendJson(res, 404, { error: 'not_found' });
    }
    const path = url.pathname.slice(mount.length) || '/';
    if (path === '/.well-known/openid-configuration') {
      stats.discovery += 1;
      if (knobs.discovery_status !== 200) return sendJson(res, knobs.discovery_status, { error: 'injected' });
    } else if (path === '/jwks') {
      stats.jwks += 1;
      if (knobs.jwks_delay_ms) await sleep(knobs.jwks_delay_ms);
      if (knobs.jwks_status !== 200) return sendJson(res, knobs.jwks_status, { error: 'injected' });
    } else if (path === '/token') {
      stats.token += 1;
    } else {
      stats.other += 1;
    }
    if (mount) {
      req.originalUrl = req.url;
      req.url = req.url.slice(mount.length) || '/';
    }
    return current.callback(req, res);
  } catch (err) {
    process.stderr.write(`provider.mjs: ${err.stack}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    else res.destroy();
  }
  return undefined;
};
const server = TLS_CERT
  ? https.createServer({ cert: fs.readFileSync(TLS_CERT), key: fs.readFileSync(TLS_KEY) }, handler)
  : http.createServer(handler);
server.keepAliveTimeout = 5000;

let issuer;
function reload() {
  const built = buildProvider(issuer, loadJwks());
  current = { ...built, callback: built.provider.callback() };
  process.stderr.write(`provider.mjs: issuer=${issuer} mount=${mount || '/'} kids=${built.kids.join(',')} sign_kid=${built.signKid} alg=${built.defaultAlg} resources=${RESOURCES.join(',')}\n`);
}

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const base = `${TLS_CERT ? 'https' : 'http'}://${HOST.includes(':') ? `[${HOST}]` : HOST}:${port}`;
  issuer = ISSUER_ARG ? ISSUER_ARG.replaceAll('{port}', String(port)) : base;
  mount = (MOUNT_ARG ?? new URL(issuer).pathname).replace(/\/+$/, '');
  try { reload(); } catch (e) { die(e.message); }
  process.stdout.write(`READY ${base}\n`);
});
server.on('error', (err) => die(`listen: ${err.message}`));

process.on('SIGHUP', () => { try { reload(); } catch (e) { process.stderr.write(`reload failed: ${e.message}\n`); } });
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
