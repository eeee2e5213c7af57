import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** A self-signed certificate and its private key, both PEM. */
export interface TestCertificate {
  cert: string
  key: string
}

/** What to put in a generated certificate; `days: -1` gives one that expired a day ago. */
export interface CertificateOptions {
  commonName?: string
  days?: number
  /** subjectAltName entries, `DNS:localhost,IP:127.0.0.1` by default. */
  altNames?: string
}

/**
 * Generates a self-signed P-256 certificate with the `openssl` CLI (argument array, no shell).
 * OpenSSL 3.0 accepts `-days -1` only on `x509 -req`, so the certificate is made from a CSR.
 */
export async function generateCertificate(
  options: CertificateOptions = {},
): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'keel-cert-'))
  try {
    const key = join(dir, 'key.pem')
    const csr = join(dir, 'req.csr')
    const cert = join(dir, 'cert.pem')
    const ext = join(dir, 'ext.cnf')
    await writeFile(ext, `subjectAltName=${options.altNames ?? 'DNS:localhost,IP:127.0.0.1'}\n`)
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${options.commonName ?? 'localhost'}`,
    ])
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-signkey',
      key,
      '-days',
      String(options.days ?? 30),
      '-extfile',
      ext,
      '-out',
      cert,
    ])
    return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
