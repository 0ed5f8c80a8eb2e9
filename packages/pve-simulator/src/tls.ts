import crypto from 'node:crypto';

// selfsigned's typings declare a global function instead of a module export.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const selfsigned = require('selfsigned') as {
  generate(
    attrs: Array<{ name: string; value: string }>,
    options: Record<string, unknown>,
  ): { cert: string; private: string; public: string };
};

export interface SelfSignedCertificate {
  certPem: string;
  keyPem: string;
  /** sha256 over the DER certificate, colon-separated upper-case hex, as PVE shows it. */
  fingerprint: string;
}

/** A fresh self-signed certificate for `host` (like PVE's pve-ssl.pem, but not CA-signed). */
export function createSelfSignedCertificate(host: string): SelfSignedCertificate {
  const altNames = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    ...(host !== '127.0.0.1' && host !== 'localhost' ? [/^[\d.]+$/.test(host) ? { type: 7, ip: host } : { type: 2, value: host }] : []),
  ];
  const generated = selfsigned.generate([{ name: 'commonName', value: host }], {
    days: 365,
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  const fingerprint = new crypto.X509Certificate(generated.cert).fingerprint256;
  return { certPem: generated.cert, keyPem: generated.private, fingerprint };
}
