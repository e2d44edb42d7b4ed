// A real OpenID provider for omscds's login tests: panva's oidc-provider (OpenID-certified),
// bound to 127.0.0.1 only. Usage: node server.mjs <port>  (0 picks a free one; the port is
// printed as "LISTENING <port>" on stdout).
//
// Environment:
//   OMSCDS_OIDC_REDIRECT_URIS  JSON list: redirect URIs of the confidential web client
//   OMSCDS_OIDC_AUDIENCE       resource (aud) of the JWT access tokens (default urn:omscds:api)
//
// Clients: "omscds-web" (secret "web-secret", code flow, PKCE) for the page; "omscds-cli"
// (public, PKCE, redirect http://127.0.0.1:9/callback) for API clients getting a token.
// Users log in on /interaction/<uid> by name (no password): clin (clinician),
// reg (clinician, registrar), aud (auditor), adm (admin), nobody (no role). Roles are the
// "roles" claim of ID tokens (scope profile) and of JWT access tokens.
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const ACCOUNTS = {
  clin: ['clinician'],
  reg: ['clinician', 'registrar'],
  aud: ['auditor'],
  adm: ['admin'],
  nobody: [],
};
const redirectUris = JSON.parse(process.env.OMSCDS_OIDC_REDIRECT_URIS || '["http://127.0.0.1:8000/auth/callback"]');
const audience = process.env.OMSCDS_OIDC_AUDIENCE || 'urn:omscds:api';
const CLI_REDIRECT = 'http://127.0.0.1:9/callback';

function jwk(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, kid, use: 'sig' };
}

const configuration = {
  clients: [
    {
      client_id: 'omscds-web',
      client_secret: 'web-secret',
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: 'omscds-cli',
      redirect_uris: [CLI_REDIRECT],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'none',
    },
  ],
  jwks: {
    keys: [
      jwk('rsa', { modulusLength: 2048 }, 'RS256', 'rs-1'),
      jwk('ec', { namedCurve: 'P-256' }, 'ES256', 'es-1'),
    ],
  },
  cookies: { keys: ['omscds-test-cookie-key'] },
  claims: { openid: ['sub'], profile: ['name', 'roles'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  extraTokenClaims: async (ctx, token) =>
    token.kind === 'AccessToken' ? { roles: ACCOUNTS[token.accountId] || [] } : undefined,
  findAccount: async (ctx, id) =>
    id in ACCOUNTS
      ? { accountId: id, claims: async () => ({ sub: id, name: `test user ${id}`, roles: ACCOUNTS[id] }) }
      : undefined,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
};

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

const server = http.createServer();
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  const port = server.address().port;
  const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
  const callback = provider.callback();

  server.on('request', async (req, res) => {
    const m = /^\/interaction\/([^/?]+)(\/login)?/.exec(req.url);
    if (!m) return callback(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (!m[2]) {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><title>log in</title><form method="post" action="/interaction/${details.uid}/login">` +
          '<input name="login"><button type="submit">Log in</button></form>');
        return;
      }
      const login = new URLSearchParams(await readBody(req)).get('login') || '';
      if (!(login in ACCOUNTS)) {
        res.writeHead(403, { 'Content-Type': 'text/plain' });
        res.end('unknown user');
        return;
      }
      const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
      grant.addOIDCScope(String(details.params.scope || 'openid'));
      grant.addOIDCClaims(['roles', 'name']);
      grant.addResourceScope(audience, 'api');
      const grantId = await grant.save();
      await provider.interactionFinished(
        req, res, { login: { accountId: login }, consent: { grantId } }, { mergeWithLastSubmission: false },
      );
    } catch (err) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(String(err && err.message));
    }
  });
  process.stdout.write(`LISTENING ${port}\n`);
});
