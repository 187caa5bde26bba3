// SPDX-License-Identifier: Apache-2.0
/**
 * TLS material. `phigate init` makes a self-signed certificate for localhost so a first run is
 * encrypted in transit; production deployments point the config at their own certificate.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import selfsigned from 'selfsigned';

const validityDays = 365;

/** Writes a new self-signed EC P-256 certificate for localhost / 127.0.0.1 / ::1; the key file is 0600. */
export async function createSelfSignedCertificate(certFile: string, keyFile: string, now: Date = new Date()): Promise<void> {
  const notAfter = new Date(now.getTime() + validityDays * 86_400_000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'phigate (self-signed, localhost)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(certFile), { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  writeFileSync(certFile, pems.cert, { mode: 0o644 });
}

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Reads the PEM files; the error names the file, never its contents. */
export function loadTlsMaterial(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new Error(`TLS file ${file} cannot be read; run "phigate init" or set server.tls.certFile/keyFile`);
    }
  };
  return { cert: read(certFile), key: read(keyFile) };
}
