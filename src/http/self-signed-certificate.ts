// Test support: a throw-away self-signed certificate for 127.0.0.1 and localhost, made with the
// openssl command line tool, and an HTTPS client that trusts exactly that certificate.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

export interface TestCertificate {
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  readonly cert: Buffer;
}

/** Writes cert.pem and key.pem (P-256, valid one day) into `dir`. */
export async function makeTestCertificate(dir: string, prefix = ''): Promise<TestCertificate> {
  const certificateFile = path.join(dir, `${prefix}cert.pem`);
  const privateKeyFile = path.join(dir, `${prefix}key.pem`);
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', privateKeyFile, '-out', certificateFile, '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { certificateFile, privateKeyFile, cert: await readFile(certificateFile) };
}

export interface HttpsReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly protocol: string;
}

/** One request over TLS that trusts only `ca`. */
export function httpsRequest(method: string, url: string, ca: Buffer, headers: Record<string, string> = {}, body?: string): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, headers, agent: false }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol() ?? '';
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), protocol });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
