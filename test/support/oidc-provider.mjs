// A real OpenID provider for the tests (oidc-provider), run in its own process:
//
//   OIDC_TEST_CLIENTS='[{"client_id":…}]' node test/support/oidc-provider.mjs
//
// It listens on 127.0.0.1 (PORT, or a free port) and prints "oidc-provider ready at <issuer>" once
// it serves. Settings from the environment:
//   OIDC_TEST_CLIENTS      JSON array of oidc-provider client metadata (redirect URIs, secret, …)
//   OIDC_TEST_CLAIMS_IN    "id_token" (default: profile, email and groups in the ID token, as Entra
//                          ID and Keycloak's mappers do) or "userinfo" (the ID token holds little
//                          more than sub; the rest comes from the userinfo endpoint)
//   OIDC_TEST_GROUPS_CLAIM the groups claim's name (default "groups")
//
// Accounts are set by the test: PUT /_test/accounts/<sub> with a JSON body of claims. The sign-in
// page (/interaction/<uid>) is a plain form without JavaScript: the account's sub in `account`,
// POSTed to /interaction/<uid>/login; "Cancel" POSTs to /interaction/<uid>/abort, which answers
// the client with error=access_denied. Consent is given at once.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_TEST_CLIENTS ?? '[]');
const claimsInIdToken = (process.env.OIDC_TEST_CLAIMS_IN ?? 'id_token') === 'id_token';
const groupsClaim = process.env.OIDC_TEST_GROUPS_CLAIM ?? 'groups';

/** sub → claims */
const accounts = new Map();

const server = createServer();
await new Promise((done) => server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', done));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', groupsClaim],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: !claimsInIdToken,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['certex-test-provider-cookie-key'] },
  async findAccount(_ctx, sub) {
    if (!accounts.has(sub)) return undefined;
    return { accountId: sub, claims: async () => ({ sub, ...accounts.get(sub) }) };
  },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Test provider</title></head><body><main>${body}</main></body></html>`,
  );
}

async function readBody(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return body;
}

function signInForm(uid, error = '') {
  return (
    `<h1>Sign in to the test provider</h1>${error ? `<p role="alert">${escape(error)}</p>` : ''}` +
    `<form method="post" action="/interaction/${escape(uid)}/login">` +
    `<label for="account">Account</label> <input id="account" name="account" autocomplete="username">` +
    `<button type="submit">Sign in</button></form>` +
    `<form method="post" action="/interaction/${escape(uid)}/abort"><button type="submit">Cancel</button></form>`
  );
}

const callback = provider.callback();

server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', issuer);
    const account = /^\/_test\/accounts\/([^/]+)$/.exec(url.pathname);
    if (account && req.method === 'PUT') {
      accounts.set(decodeURIComponent(account[1]), JSON.parse(await readBody(req)));
      res.writeHead(204).end();
      return;
    }
    const interaction = /^\/interaction\/([^/]+)(?:\/(login|abort))?$/.exec(url.pathname);
    if (interaction) {
      const [, uid, step] = interaction;
      const details = await provider.interactionDetails(req, res);
      if (!step && req.method === 'GET') {
        if (details.prompt.name === 'login') return page(res, 200, signInForm(uid));
        // Consent: granted at once for what the client asked.
        const { missingOIDCScope = [], missingOIDCClaims = [] } = details.prompt.details;
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
        if (missingOIDCScope.length) grant.addOIDCScope(missingOIDCScope.join(' '));
        if (missingOIDCClaims.length) grant.addOIDCClaims(missingOIDCClaims);
        const grantId = await grant.save();
        return await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      }
      if (step === 'login' && req.method === 'POST') {
        const sub = new URLSearchParams(await readBody(req)).get('account') ?? '';
        if (!accounts.has(sub)) return page(res, 400, signInForm(uid, `No account ${sub}`));
        return await provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
      }
      if (step === 'abort' && req.method === 'POST') {
        return await provider.interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'The person cancelled the sign-in' },
          { mergeWithLastSubmission: false },
        );
      }
    }
    callback(req, res);
  } catch (error) {
    if (!res.headersSent) page(res, 500, `<p>${escape(error?.message ?? error)}</p>`);
  }
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
console.log(`oidc-provider ready at ${issuer}`);
