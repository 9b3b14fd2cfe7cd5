// A relying party built on openid-client, driven by the Python tests one JSON line at a time.
//
// Each line on stdin is {"cmd": ..., ...arguments}; each answer on stdout is one line,
// {"ok": true, ...result} or {"ok": false, "error": {...}} saying what the library refused.
// The process keeps the discovered configuration and the pending authorization request
// (PKCE verifier, nonce, state) between commands, as a real RP keeps them in its session.

import * as readline from 'node:readline'
import * as client from 'openid-client'

let config = null
let pending = null

function describe(error) {
  const described = { name: error?.name, message: String(error?.message ?? error) }
  for (const key of ['code', 'error', 'error_description', 'status']) {
    if (error?.[key] !== undefined) described[key] = error[key]
  }
  if (error?.cause !== undefined) {
    try {
      described.cause = JSON.parse(JSON.stringify(error.cause))
    } catch {
      described.cause = String(error.cause)
    }
  }
  return described
}

function tokens(response) {
  return {
    access_token: response.access_token,
    refresh_token: response.refresh_token ?? null,
    id_token: response.id_token ?? null,
    token_type: response.token_type,
    expires_in: response.expires_in ?? null,
    scope: response.scope ?? null,
    claims: response.claims() ?? null,
  }
}

function clientAuth(method, secret) {
  if (method === 'client_secret_post') return client.ClientSecretPost(secret)
  if (method === 'client_secret_basic') return client.ClientSecretBasic(secret)
  throw new Error(`unknown client authentication method ${method}`)
}

const commands = {
  // Discover the provider and remember the client, over plain HTTP on loopback.
  async discover({ issuer, client_id, client_secret, auth_method = 'client_secret_basic' }) {
    config = await client.discovery(
      new URL(issuer),
      client_id,
      { id_token_signed_response_alg: 'RS256' },
      clientAuth(auth_method, client_secret),
      { execute: [client.allowInsecureRequests] },
    )
    return { metadata: config.serverMetadata() }
  },

  // Build a code-flow authorization URL with PKCE S256, a nonce and a state.
  async authorization_url({ redirect_uri, scope = 'openid profile email', extra = {} }) {
    const verifier = client.randomPKCECodeVerifier()
    pending = {
      verifier,
      nonce: client.randomNonce(),
      state: client.randomState(),
    }
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce: pending.nonce,
      state: pending.state,
      ...extra,
    })
    return { url: url.href, state: pending.state, nonce: pending.nonce }
  },

  // Finish the pending request from the URL the browser was sent back to.
  async callback({ url }) {
    const response = await client.authorizationCodeGrant(config, new URL(url), {
      pkceCodeVerifier: pending.verifier,
      expectedNonce: pending.nonce,
      expectedState: pending.state,
      idTokenExpected: true,
    })
    return tokens(response)
  },

  async userinfo({ access_token, sub }) {
    return { claims: await client.fetchUserInfo(config, access_token, sub) }
  },

  async refresh({ refresh_token }) {
    return tokens(await client.refreshTokenGrant(config, refresh_token))
  },

  async revoke({ token, hint }) {
    await client.tokenRevocation(config, token, hint ? { token_type_hint: hint } : undefined)
    return {}
  },

  async introspect({ token, hint }) {
    const parameters = hint ? { token_type_hint: hint } : undefined
    return { introspection: await client.tokenIntrospection(config, token, parameters) }
  },

  async end_session_url({ id_token_hint, post_logout_redirect_uri, state }) {
    const url = client.buildEndSessionUrl(config, { id_token_hint, post_logout_redirect_uri, state })
    return { url: url.href }
  },
}

async function answer(line) {
  let request
  try {
    request = JSON.parse(line)
  } catch (error) {
    return { ok: false, error: describe(error) }
  }
  const command = commands[request.cmd]
  if (!command) return { ok: false, error: { name: 'UnknownCommand', message: request.cmd } }
  try {
    return { ok: true, ...(await command(request)) }
  } catch (error) {
    return { ok: false, error: describe(error) }
  }
}

const lines = readline.createInterface({ input: process.stdin, terminal: false })
for await (const line of lines) {
  if (line.trim()) process.stdout.write(JSON.stringify(await answer(line)) + '\n')
}
