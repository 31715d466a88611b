// A stand-in OpenID Connect provider for the browser tests, on loopback:
// enough of discovery, keys and the token endpoint for Bevis's "Test the
// provider" to pass every check, and an authorization endpoint that shows
// a page, so a test can see the browser arrive there.

import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close: () => Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** Whom the token request authenticates as: HTTP Basic, or the form's client_id and client_secret. */
function clientOf(req: IncomingMessage, form: URLSearchParams): [string, string] {
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
  if (basic) {
    const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
    return [decodeURIComponent(id ?? ''), decodeURIComponent(secret ?? '')];
  }
  return [form.get('client_id') ?? '', form.get('client_secret') ?? ''];
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const clientId = 'bevis-e2e';
  const clientSecret = 'e2e-client-secret';
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  let issuer = '';
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        scopes_supported: ['openid', 'email', 'profile'],
        code_challenge_methods_supported: ['S256'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    } else if (path === '/jwks') {
      json(200, { keys: [{ ...jwk, kid: 'e2e', use: 'sig', alg: 'RS256' }] });
    } else if (path === '/token' && req.method === 'POST') {
      void readBody(req).then((body) => {
        const [id, secret] = clientOf(req, new URLSearchParams(body));
        if (id !== clientId || secret !== clientSecret) json(401, { error: 'invalid_client' });
        else json(400, { error: 'invalid_grant' }); // no code is ever valid here
      });
    } else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else if (path === '/authorize') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>Agency sign-in</title><h1>Agency sign-in</h1>');
    } else {
      json(404, { error: 'not_found' });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { issuer, clientId, clientSecret, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
