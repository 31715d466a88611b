// RFC 6238 time-based one-time codes (HMAC-SHA1, 30-second steps, 6 digits), as
// authenticator apps compute them, for the end-to-end test to sign in with.

import { createHmac } from 'node:crypto';

/** Decodes RFC 4648 base32 (padding and case ignored). */
export function base32Decode(input: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = input.toUpperCase().replace(/[=\s]/g, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of clean) {
    const idx = alphabet.indexOf(ch);
    if (idx < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The HOTP code (RFC 4226) of key for counter. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return bin.toString().padStart(digits, '0');
}

/** The TOTP code of a base32 secret for the 30-second step holding unixSeconds, shifted by stepOffset steps. */
export function totp(secret: string, unixSeconds = Date.now() / 1000, stepOffset = 0, digits = 6): string {
  return hotp(base32Decode(secret), Math.floor(unixSeconds / 30) + stepOffset, digits);
}
