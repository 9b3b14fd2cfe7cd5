// An upstream OpenID Connect provider (the government's unified identity, as far as Yunshi
// can tell) built on oidc-provider, for the peer tests of "sign in with 统一身份".
//
//   node upstream_idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNTS_FILE
//
// It serves http://127.0.0.1:PORT as its issuer with one confidential client. Its sign-in form
// is oidc-provider's development one: whatever is typed as the login is the account id, and
// the account's claims come from ACCOUNTS_FILE, a JSON object read afresh on every look-up,
// {"<account id>": {"email": "...", "email_verified": true, "name": "..."}}, so a test can add
// accounts (verified or not) while the provider runs. An id missing from the file is unknown.
// It prints "ready <issuer>" on stdout once it listens.

import { readFileSync } from 'node:fs'
import Provider from 'oidc-provider'

const [port, clientId, clientSecret, redirectUri, accountsFile] = process.argv.slice(2)
if (!accountsFile) {
  console.error('usage: node upstream_idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNTS_FILE')
  process.exit(2)
}
const issuer = `http://127.0.0.1:${port}`

function readAccounts() {
  try {
    return JSON.parse(readFileSync(accountsFile, 'utf8'))
  } catch (error) {
    console.error(`cannot read ${accountsFile}: ${error}`)
    return {}
  }
}

async function findAccount(ctx, id) {
  const account = readAccounts()[id]
  if (!account) return undefined
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: account.email,
        email_verified: Boolean(account.email_verified),
        ...(account.name ? { name: account.name } : {}),
      }
    },
  }
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  findAccount,
  // The ID token carries only sub unless asked otherwise, and the rest is at userinfo, as a
  // conforming provider does; Yunshi must fetch it there.
  conformIdTokenClaims: true,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['upstream-idp-peer-test-key'] },
})

// Say why a request failed on stderr, which the tests show when something goes wrong.
provider.on('server_error', (ctx, error) => console.error('server_error', error))
provider.on('grant.error', (ctx, error) => console.error('grant.error', error.message, error.error_description ?? ''))

const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`)
})

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)))
}
