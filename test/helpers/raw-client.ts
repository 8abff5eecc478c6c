/**
 * A raw protocol client for tests: sends one request of any API and version, encoded with the
 * generated codecs, over a real socket, and decodes the response. Requests may be pipelined;
 * responses are matched by correlation id.
 */
import { connect, type Socket } from 'node:net'
import { decodeResponseHeader, encodeRequestHeader } from '../../src/protocol/frame.ts'
import { API_DESCRIPTORS, type ApiDescriptor } from '../../src/protocol/generated/index.ts'
import { Reader } from '../../src/protocol/wire/reader.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'

interface Pending {
  api: ApiDescriptor
  version: number
  resolve(value: unknown): void
  reject(err: Error): void
}

export class RawClient {
  readonly #socket: Socket
  readonly #pending = new Map<number, Pending>()
  #buffer: Buffer = Buffer.alloc(0)
  #correlationId = 0
  #closed = false
  readonly #clientId: string

  private constructor(socket: Socket, clientId: string) {
    this.#socket = socket
    this.#clientId = clientId
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('close', () => this.#failAll(new Error('connection closed')))
    socket.on('error', (err) => this.#failAll(err))
  }

  /** Opens a connection to the broker; its requests name `clientId` in their headers. */
  static connect(port: number, host = '127.0.0.1', clientId = 'raw-client'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => {
        socket.off('error', reject)
        resolve(new RawClient(socket, clientId))
      })
      socket.once('error', reject)
    })
  }

  /**
   * Sends a request (a generated request object) and resolves the decoded response.
   * `headerVersion` puts another version in the header than the one the body is encoded in
   * (to probe version negotiation).
   */
  send<Res = unknown>(
    apiKey: number,
    version: number,
    request: unknown,
    options: { headerVersion?: number } = {},
  ): Promise<Res> {
    const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)
    if (!api) return Promise.reject(new Error(`unknown api key ${apiKey}`))
    const correlationId = this.#write(api, version, request, options.headerVersion ?? version)
    return new Promise<Res>((resolve, reject) => {
      this.#pending.set(correlationId, { api, version, resolve: resolve as (v: unknown) => void, reject })
    })
  }

  /** Sends a request that gets no response (a Produce with acks=0). */
  sendOneWay(apiKey: number, version: number, request: unknown): void {
    const api = API_DESCRIPTORS.find((a) => a.apiKey === apiKey)
    if (!api) throw new Error(`unknown api key ${apiKey}`)
    this.#write(api, version, request, version)
  }

  #write(api: ApiDescriptor, version: number, request: unknown, headerVersion: number): number {
    const correlationId = ++this.#correlationId
    this.#socket.write(encodeFrame(api, version, request, correlationId, headerVersion, this.#clientId))
    return correlationId
  }

  /** Closes the connection. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    return new Promise((resolve) => this.#socket.end(resolve))
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
    while (this.#buffer.length >= 4) {
      const size = this.#buffer.readInt32BE(0)
      if (this.#buffer.length < 4 + size) return
      const body = this.#buffer.subarray(4, 4 + size)
      this.#buffer = this.#buffer.subarray(4 + size)
      const correlationId = body.readInt32BE(0)
      const pending = this.#pending.get(correlationId)
      if (!pending) continue
      this.#pending.delete(correlationId)
      try {
        const r = new Reader(body)
        decodeResponseHeader(r, pending.api.apiKey, pending.version)
        pending.resolve(pending.api.decodeResponse(r, pending.version))
      } catch (err) {
        pending.reject(err as Error)
      }
    }
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err)
    this.#pending.clear()
  }
}

/** One size-prefixed request frame, as a client sends it. */
export function encodeFrame(
  api: ApiDescriptor,
  version: number,
  request: unknown,
  correlationId: number,
  headerVersion = version,
  clientId = 'raw-client',
): Buffer {
  const w = new Writer()
  w.writeInt32(0)
  encodeRequestHeader(w, { apiKey: api.apiKey, apiVersion: headerVersion, correlationId, clientId })
  api.encodeRequest(w, version, request as never)
  const frame = w.toBuffer()
  frame.writeInt32BE(frame.length - 4, 0)
  return frame
}
