// Sealed values: a small JSON value encrypted and authenticated with a key derived from a site secret,
// for what must be kept but must never be readable in storage (the identified origin of a DICOM
// study: docs/dicom.md, "Results back to the PACS"). AES-256-GCM under HKDF-SHA256(secret, purpose), a
// random 96-bit nonce per value; the purpose is also the GCM additional data, so a value sealed for one
// purpose cannot be opened as another even if the derivation were ever shared.
// Wire form: `v1.<base64url(nonce ‖ ciphertext ‖ tag)>`.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

import { SecondreadError } from './errors.js';

const VERSION = 'v1';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that does not open: tampered with, truncated, another key or another purpose. */
export class SealError extends SecondreadError {
  constructor(message: string) {
    super('seal_invalid', message, 500);
  }
}

export function sealJson(key: Uint8Array, purpose: string, value: unknown): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', derive(key, purpose), nonce);
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return `${VERSION}.${Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')}`;
}

export function openSealed<T>(key: Uint8Array, purpose: string, sealed: string): T {
  if (typeof sealed !== 'string' || !sealed.startsWith(`${VERSION}.`)) throw new SealError(`not a ${VERSION} sealed value`);
  const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url');
  if (raw.length < NONCE_BYTES + TAG_BYTES) throw new SealError('the sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', derive(key, purpose), raw.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(purpose, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch {
    // GCM says only "unable to authenticate": which of key, purpose or bytes is wrong cannot be known.
    throw new SealError('the sealed value does not authenticate (tampered, or sealed with another key or purpose)');
  }
  return JSON.parse(plain.toString('utf8')) as T;
}

function derive(key: Uint8Array, purpose: string): Buffer {
  if (key.length < 16) throw new SealError('the sealing key must be at least 16 bytes');
  return Buffer.from(hkdfSync('sha256', key, new Uint8Array(0), Buffer.from(purpose, 'utf8'), 32));
}
