/**
 * TLS for a listener: a node:tls server that never listens itself but takes each accepted TCP
 * socket, shakes hands and hands the secured socket on with the client's principal. Key store
 * and trust store files are watched; when one changes, new connections get the new certificates
 * (open ones keep theirs), as Kafka's dynamic keystore update does, without a restart.
 */
import type { X509Certificate } from 'node:crypto'
import { readFileSync, unwatchFile, watchFile } from 'node:fs'
import type { Socket } from 'node:net'
import { createServer, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls'
import type { Log } from '../util/logger.ts'
import { ANONYMOUS, mapSubject, parsePrincipalRules, subjectName } from './ssl-principal.ts'

/** Where a listener's certificates come from (Kafka's ssl.* configs, resolved for the listener). */
export interface TlsConfig {
  keystore:
    | { type: 'PEM'; location?: string; certificateChain?: string; key?: string; keyPassword?: string }
    | { type: 'PKCS12'; location: string; password?: string }
  truststore?: { location?: string; certificates?: string }
  clientAuth: 'none' | 'requested' | 'required'
  /** ssl.principal.mapping.rules. */
  principalMappingRules: string
}

/** How often the certificate files are checked for changes. */
const RELOAD_CHECK_MS = 1000

/** Reads the key store and trust store as node:tls takes them. */
function contextOptions(config: TlsConfig): SecureContextOptions {
  const options: SecureContextOptions = {}
  const ks = config.keystore
  if (ks.type === 'PKCS12') {
    options.pfx = readFileSync(ks.location)
    options.passphrase = ks.password
  } else {
    // A PEM key store file holds the private key and the certificate chain; OpenSSL picks each out.
    const file = ks.location ? readFileSync(ks.location) : undefined
    options.key = file ?? ks.key
    options.cert = file ?? ks.certificateChain
    options.passphrase = ks.keyPassword
  }
  const ts = config.truststore
  if (ts) options.ca = ts.location ? readFileSync(ts.location) : ts.certificates
  return options
}

/** The files whose changes reload the certificates. */
function watchedFiles(config: TlsConfig): string[] {
  return [config.keystore.location, config.truststore?.location].filter((f): f is string => Boolean(f))
}

export class TlsAcceptor {
  readonly #server: Server
  readonly #config: TlsConfig
  readonly #log: Log
  readonly #rules: ReturnType<typeof parsePrincipalRules>
  /** The TCP sockets under every TLS connection, those still shaking hands included. */
  readonly #sockets = new Set<Socket>()
  readonly #files: string[]
  readonly #onFileChange = (): void => this.#reload()

  /**
   * Loads the certificates (throwing when they cannot be read or do not fit together) and calls
   * `onSecure` with each client that completes the handshake and is allowed in.
   */
  constructor(config: TlsConfig, log: Log, onSecure: (socket: TLSSocket, principal: string) => void) {
    this.#config = config
    this.#log = log
    this.#rules = parsePrincipalRules(config.principalMappingRules)
    this.#server = createServer({
      ...contextOptions(config),
      requestCert: config.clientAuth !== 'none',
      rejectUnauthorized: config.clientAuth === 'required',
    })
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      const principal = this.#principal(socket)
      if (principal !== undefined) onSecure(socket, principal)
      else socket.destroy()
    })
    // A plaintext Kafka client, a bad certificate, a timeout: that connection only.
    this.#server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
      this.#log.warn(
        { remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message },
        'closing connection: TLS handshake failed (a plaintext client on a TLS listener, or an untrusted certificate)',
      )
    })
    this.#files = watchedFiles(config)
    for (const file of this.#files) watchFile(file, { interval: RELOAD_CHECK_MS }, this.#onFileChange)
  }

  /** Shakes hands with an accepted TCP connection. */
  accept(socket: Socket): void {
    this.#sockets.add(socket)
    socket.once('close', () => this.#sockets.delete(socket))
    this.#server.emit('connection', socket)
  }

  /** Drops every connection, those still shaking hands included (the listener closed or paused). */
  dropConnections(): void {
    for (const socket of this.#sockets) socket.destroy()
  }

  /** Drops the connections and stops watching the files. */
  close(): void {
    for (const file of this.#files) unwatchFile(file, this.#onFileChange)
    this.dropConnections()
  }

  #reload(): void {
    try {
      this.#server.setSecureContext(contextOptions(this.#config))
      this.#log.info({ files: this.#files }, 'TLS certificates reloaded')
    } catch (err) {
      // A file caught half written, or a key that no longer fits: keep the certificates in use.
      this.#log.warn({ err, files: this.#files }, 'TLS certificates not reloaded')
    }
  }

  /** The client's principal, or undefined when it must not come in. */
  #principal(socket: TLSSocket): string | undefined {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    const cert: X509Certificate | undefined = socket.getPeerX509Certificate()
    if (cert === undefined) return ANONYMOUS
    if (!socket.authorized) {
      // ssl.client.auth=requested: a certificate that is offered must still be trusted, as in Kafka.
      this.#log.warn(
        { remote, err: String(socket.authorizationError) },
        'closing connection: untrusted client certificate',
      )
      return undefined
    }
    const subject = subjectName(cert)
    const principal = mapSubject(subject, this.#rules)
    if (principal === undefined) {
      this.#log.warn({ remote, subject }, 'closing connection: no ssl.principal.mapping.rules rule applies')
    }
    return principal
  }
}
