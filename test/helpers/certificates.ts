/**
 * Throw-away certificates for TLS tests, made by openssl in a temporary directory at test time
 * (never checked in): a certificate authority, a broker certificate for localhost, 127.0.0.1 and
 * ::1, and client certificates signed by that authority or by another one.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Why TLS tests are skipped, when the openssl command is missing; false when it is there. */
export const OPENSSL_SKIP =
  spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0
    ? false
    : 'the openssl command is not installed (apt-get install openssl); CI installs it'

export interface TestCertificates {
  dir: string
  /** The authority's certificate (PEM): the clients' and the broker's trust store. */
  caFile: string
  ca: string
  /** The broker's key and certificate in one PEM file (ssl.keystore.type=PEM). */
  keystoreFile: string
  /** The broker's private key alone, and its certificate alone (PEM). */
  serverKey: string
  serverCert: string
  /** Signs another broker certificate (a renewal) and writes it over keystoreFile. */
  renewServer(commonName: string): void
  /** A client certificate and key signed by the authority, for the subject given (`/CN=alice/O=acme`). */
  client(subject: string): { cert: string; key: string; certFile: string; keyFile: string }
  /** A client certificate from an authority the broker does not trust. */
  untrustedClient(): { cert: string; key: string }
  /** The broker key encrypted with a password (PKCS#8), in a keystore file with its certificate. */
  encryptedKeystore(password: string): string
  /** The broker key and certificate in a PKCS12 file with a password. */
  pkcs12Keystore(password: string): string
  remove(): void
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A new EC key and a certificate for `subject` signed by the CA in dir (ca.pem, ca.key). */
function signed(dir: string, name: string, subject: string, ca: string, san?: string): void {
  openssl(dir, [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  ])
  if (san) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`)
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.pem`,
    ...(san ? ['-extfile', `${name}.ext`] : []),
  ])
}

function authority(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ])
}

const SERVER_SAN = 'DNS:localhost,IP:127.0.0.1,IP:::1'

/** Makes a fresh set of certificates in a temporary directory. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'samsa-certs-'))
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  authority(dir, 'samsa-test-ca')
  const writeServer = (commonName: string): void => {
    signed(dir, 'server', `/CN=${commonName}`, 'samsa-test-ca', SERVER_SAN)
    writeFileSync(join(dir, 'server-keystore.pem'), read('server.key') + read('server.pem'))
  }
  writeServer('localhost')
  let clients = 0
  return {
    dir,
    caFile: join(dir, 'samsa-test-ca.pem'),
    ca: read('samsa-test-ca.pem'),
    keystoreFile: join(dir, 'server-keystore.pem'),
    serverKey: read('server.key'),
    serverCert: read('server.pem'),
    renewServer: writeServer,
    client(subject) {
      const name = `client-${++clients}`
      signed(dir, name, subject, 'samsa-test-ca')
      return {
        cert: read(`${name}.pem`),
        key: read(`${name}.key`),
        certFile: join(dir, `${name}.pem`),
        keyFile: join(dir, `${name}.key`),
      }
    },
    untrustedClient() {
      authority(dir, 'other-ca')
      signed(dir, 'stranger', '/CN=stranger', 'other-ca')
      return { cert: read('stranger.pem'), key: read('stranger.key') }
    },
    encryptedKeystore(password) {
      openssl(dir, [
        'pkcs8',
        '-topk8',
        '-in',
        'server.key',
        '-out',
        'server-enc.key',
        '-v2',
        'aes-256-cbc',
        '-passout',
        `pass:${password}`,
      ])
      writeFileSync(join(dir, 'server-enc-keystore.pem'), read('server-enc.key') + read('server.pem'))
      return join(dir, 'server-enc-keystore.pem')
    },
    pkcs12Keystore(password) {
      openssl(dir, [
        ...['pkcs12', '-export', '-inkey', 'server.key', '-in', 'server.pem', '-out', 'server.p12'],
        ...['-passout', `pass:${password}`],
      ])
      return join(dir, 'server.p12')
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
