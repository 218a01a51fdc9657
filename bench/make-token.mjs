// Makes the RS256 material for the auth scenario of bench/run.sh from a key pair the script
// generated with the openssl CLI:
//   node bench/make-token.mjs PRIVATE.pem OUT_DIR ISSUER AUDIENCE TENANT
// writes OUT_DIR/jwks.json (the public key as a JWKS, kid "bench-rs256", for the gateway's
// jwks_file), OUT_DIR/token (one RS256 access token, valid for a day) and OUT_DIR/tampered (the
// same token with another subject in its payload and the original signature: a claim neither
// peer checks, so both must refuse it on the signature alone, which shows that both verify it).
import { readFileSync, writeFileSync } from 'node:fs';
import { createPublicKey, randomUUID } from 'node:crypto';
import { exportJWK, importPKCS8, SignJWT } from 'jose';

const [privFile, outDir, issuer, audience, tenant] = process.argv.slice(2);
if (!tenant) {
  console.error('usage: make-token.mjs PRIVATE.pem OUT_DIR ISSUER AUDIENCE TENANT');
  process.exit(2);
}
const kid = 'bench-rs256';
const pem = readFileSync(privFile, 'utf8');
const privateKey = await importPKCS8(pem, 'RS256');
const jwk = await exportJWK(createPublicKey(pem));
writeFileSync(`${outDir}/jwks.json`, JSON.stringify({ keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] }));

// Claims shaped like an IdP's access token for a machine client (about 800 bytes in all).
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({
  tenantid: tenant,
  appid: 'bench-orchestrator',
  client_id: '0f9e8d7c-6b5a-4f3e-2d1c-0b9a8f7e6d5c',
  roles: ['Agent.Invoke'],
  scope: 'agents:invoke mcp:tools',
})
  .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid })
  .setIssuer(issuer)
  .setAudience(audience)
  .setSubject('b4d2e6f0-1a3c-4e5f-8a9b-0c1d2e3f4a5b')
  .setJti(randomUUID())
  .setIssuedAt(now - 60)
  .setNotBefore(now - 60)
  .setExpirationTime(now + 86400)
  .sign(privateKey);
writeFileSync(`${outDir}/token`, token);

const [h, p, s] = token.split('.');
const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
claims.sub = 'attacker';
writeFileSync(`${outDir}/tampered`, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`);
