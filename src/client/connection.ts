/**
 * One TCP connection to one broker: length-prefixed frames, pipelined requests matched to
 * responses by correlation id, per-request timeouts, and ApiVersions negotiation when it opens.
 */
import { connect, isIP, type Socket } from 'node:net'
import { type ConnectionOptions as TlsConnectionOptions, connect as tlsConnect } from 'node:tls'
import { decodeResponseHeader, encodeRequestHeader } from '../protocol/frame.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../protocol/generated/api-versions.ts'
import { API_DESCRIPTORS, type ApiDescriptor, ApiKey } from '../protocol/generated/index.ts'
import { Reader } from '../protocol/wire/reader.ts'
import { Writer } from '../protocol/wire/writer.ts'
import { ClientError, KafkaError } from './errors.ts'
import { authenticate, type SaslCredentials } from './sasl-client.ts'
import { CLIENT_VERSIONS, pickVersion, type VersionRange } from './versions.ts'

/** Where and how to connect. */
export interface ConnectionOptions {
  host: string
  port: number
  clientId?: string
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  /** TLS (SSL and SASL_SSL): trusted authorities, a client certificate, name checking. */
  tls?: TlsConnectionOptions
  /** SASL (SASL_PLAINTEXT and SASL_SSL), run once versions are negotiated. */
  sasl?: SaslCredentials
}

interface Pending {
  api: ApiDescriptor
  version: number
  timer: NodeJS.Timeout | undefined
  resolve(value: unknown): void
  reject(err: Error): void
}

const DESCRIPTORS = new Map<number, ApiDescriptor>(API_DESCRIPTORS.map((a) => [a.apiKey, a]))
const UNSUPPORTED_VERSION = 35

function descriptor(apiKey: number): ApiDescriptor {
  const api = DESCRIPTORS.get(apiKey)
  if (!api) throw new ClientError('SAMSA_ERR_UNSUPPORTED_VERSION', `unknown API key ${apiKey}`)
  return api
}

/** A negotiated connection to one broker. */
export class Connection {
  readonly host: string
  readonly port: number
  readonly #socket: Socket
  readonly #clientId: string
  readonly #requestTimeoutMs: number
  readonly #pending = new Map<number, Pending>()
  #chunks: Buffer[] = []
  #buffered = 0
  #correlationId = 0
  #closed = false
  #closeError: Error | undefined
  /** The broker's version ranges, by API key (filled by ApiVersions). */
  readonly brokerVersions = new Map<number, VersionRange>()

  private constructor(socket: Socket, options: ConnectionOptions) {
    this.host = options.host
    this.port = options.port
    this.#socket = socket
    this.#clientId = options.clientId ?? 'samsa'
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('close', () => this.#fail(this.#closeError ?? this.#lostError()))
    socket.on('error', (err) => {
      this.#closeError = new ClientError(
        'SAMSA_ERR_CONNECTION',
        `connection to ${this.address} failed: ${err.message}`,
        {
          cause: err,
        },
      )
    })
  }

  /** Opens a connection and negotiates API versions. */
  static async open(options: ConnectionOptions): Promise<Connection> {
    const socket = await openSocket(options)
    const conn = new Connection(socket, options)
    try {
      await conn.#negotiate()
      if (options.sasl) await authenticate(conn, options.sasl)
    } catch (err) {
      conn.close()
      throw err
    }
    return conn
  }

  /** `host:port` of the broker. */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`
  }

  /** False once the socket closed or failed. */
  get usable(): boolean {
    return !this.#closed && !this.#socket.destroyed
  }

  /** The version this connection uses for an API: the highest both sides support. */
  version(apiKey: number): number {
    return pickVersion(apiKey, this.brokerVersions, descriptor(apiKey).name)
  }

  /** True when the broker supports the API at all. */
  supports(apiKey: number): boolean {
    return this.brokerVersions.has(apiKey)
  }

  /**
   * Sends a request built for the negotiated version and resolves its decoded response.
   * `timeoutMs` extends the default request timeout (long-polling fetches).
   */
  send<Res>(apiKey: number, build: (version: number) => unknown, options: { timeoutMs?: number } = {}): Promise<Res> {
    const version = this.version(apiKey)
    return this.sendVersion<Res>(apiKey, version, build(version), options)
  }

  /** Sends a request in an explicit version. */
  sendVersion<Res>(
    apiKey: number,
    version: number,
    request: unknown,
    options: { timeoutMs?: number } = {},
  ): Promise<Res> {
    if (!this.usable) return Promise.reject(this.#closeError ?? this.#lostError())
    const api = descriptor(apiKey)
    let correlationId: number
    try {
      correlationId = this.#write(api, version, request)
    } catch (err) {
      return Promise.reject(err)
    }
    return new Promise<Res>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              const err = new ClientError(
                'SAMSA_ERR_TIMEOUT',
                `${api.name} request to ${this.address} timed out after ${timeoutMs} ms`,
              )
              // The response may still arrive and would be matched to nothing; Kafka clients drop
              // the connection on a timeout for the same reason.
              this.#closeError = err
              this.#socket.destroy()
            }, timeoutMs)
          : undefined
      this.#pending.set(correlationId, { api, version, timer, resolve: resolve as (v: unknown) => void, reject })
    })
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  sendNoResponse(apiKey: number, build: (version: number) => unknown): void {
    if (!this.usable) throw this.#closeError ?? this.#lostError()
    const version = this.version(apiKey)
    this.#write(descriptor(apiKey), version, build(version))
  }

  /** Number of requests awaiting a response. */
  get inFlight(): number {
    return this.#pending.size
  }

  /** Closes the socket; pending requests fail. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#closeError ??= new ClientError('SAMSA_ERR_CLOSED', `connection to ${this.address} closed`)
    this.#socket.destroy()
    this.#fail(this.#closeError)
  }

  async #negotiate(): Promise<void> {
    // The client's own highest version, not the codec's: the codecs know versions the client
    // does not speak yet (and a broker would only answer those with UNSUPPORTED_VERSION).
    const latest = (CLIENT_VERSIONS.get(ApiKey.ApiVersions) as VersionRange).max
    let res = await this.sendVersion<ApiVersionsResponse>(
      ApiKey.ApiVersions,
      latest,
      createApiVersionsRequest({ clientSoftwareName: 'samsa', clientSoftwareVersion: '0.1.0' }),
    )
    if (res.errorCode === UNSUPPORTED_VERSION) {
      // The broker answers in v0 and lists its ApiVersions range; retry in the highest one it has.
      const range = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions)
      const v = Math.min(range?.maxVersion ?? 0, latest)
      res = await this.sendVersion<ApiVersionsResponse>(
        ApiKey.ApiVersions,
        v,
        createApiVersionsRequest(v >= 3 ? { clientSoftwareName: 'samsa', clientSoftwareVersion: '0.1.0' } : {}),
      )
    }
    if (res.errorCode !== 0) throw new KafkaError(res.errorCode, null, 'ApiVersions')
    for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion })
  }

  #write(api: ApiDescriptor, version: number, request: unknown): number {
    this.#correlationId = (this.#correlationId + 1) & 0x7fffffff
    const correlationId = this.#correlationId
    const w = new Writer()
    w.writeInt32(0)
    encodeRequestHeader(w, { apiKey: api.apiKey, apiVersion: version, correlationId, clientId: this.#clientId })
    api.encodeRequest(w, version, request as never)
    const chunks = w.finish()
    let size = -4
    for (const c of chunks) size += c.length
    ;(chunks[0] as Buffer).writeInt32BE(size, 0)
    if (chunks.length === 1) this.#socket.write(chunks[0] as Buffer)
    else {
      this.#socket.cork()
      for (const c of chunks) this.#socket.write(c)
      this.#socket.uncork()
    }
    return correlationId
  }

  #onData(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    while (this.#buffered >= 4) {
      const head = this.#peekHead()
      const size = head.readInt32BE(0)
      if (this.#buffered < 4 + size) return
      const frame = this.#take(4 + size).subarray(4)
      this.#dispatch(frame)
    }
  }

  #peekHead(): Buffer {
    const first = this.#chunks[0] as Buffer
    if (first.length >= 4) return first
    const joined = Buffer.concat(this.#chunks)
    this.#chunks = [joined]
    return joined
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0] as Buffer
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      const joined = Buffer.concat(this.#chunks)
      out = joined.subarray(0, n)
      this.#chunks = joined.length > n ? [joined.subarray(n)] : []
    }
    this.#buffered -= n
    return out
  }

  #dispatch(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0)
    const pending = this.#pending.get(correlationId)
    if (!pending) return
    this.#pending.delete(correlationId)
    if (pending.timer) clearTimeout(pending.timer)
    try {
      const r = new Reader(frame)
      decodeResponseHeader(r, pending.api.apiKey, pending.version)
      pending.resolve(pending.api.decodeResponse(r, pending.version))
    } catch (err) {
      pending.reject(
        new ClientError('SAMSA_ERR_PROTOCOL', `cannot decode ${pending.api.name} v${pending.version} response`, {
          cause: err,
        }),
      )
    }
  }

  #lostError(): ClientError {
    return new ClientError('SAMSA_ERR_CONNECTION', `connection to ${this.address} lost`)
  }

  #fail(err: Error): void {
    this.#closed = true
    for (const p of this.#pending.values()) {
      if (p.timer) clearTimeout(p.timer)
      p.reject(err)
    }
    this.#pending.clear()
  }
}

function openSocket(options: ConnectionOptions): Promise<Socket> {
  const where = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`
  return new Promise((resolve, reject) => {
    const { host, port, tls } = options
    // TLS checks the broker's name against its certificate, as Kafka clients do by default.
    const socket = tls
      ? tlsConnect({ ...tls, host, port, servername: isIP(host) ? undefined : host })
      : connect({ host, port })
    const timeoutMs = options.connectTimeoutMs ?? 10_000
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new ClientError('SAMSA_ERR_CONNECTION', `cannot connect to ${where}: timed out after ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.off('error', onError)
      resolve(socket)
    })
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer)
      const reason = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message
      reject(new ClientError('SAMSA_ERR_CONNECTION', `cannot connect to ${where}: ${reason}`, { cause: err }))
    }
    socket.once('error', onError)
  })
}
