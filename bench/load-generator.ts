/**
 * A load generator that costs as little as possible: requests are pre-encoded frames written as
 * they are, several connections each keep several requests in flight, and responses are split
 * into frames by counting bytes — only the first `headLimit` bytes of each response are copied
 * (enough to check a Produce response whole, or the partition header of a Fetch response).
 */
import { connect, type Socket } from 'node:net'
import { now, sorted } from './util.ts'

type OnResponse = (head: Buffer, size: number) => void

/** One client connection with in-order response matching (Kafka answers in request order). */
export class Conn {
  readonly socket: Socket
  readonly #headLimit: number
  readonly #waiting: OnResponse[] = []
  #waitingHead = 0
  // Frame parsing state.
  readonly #sizeBuf = Buffer.alloc(4)
  #sizeFill = 0
  #size = -1
  #head: Buffer = Buffer.alloc(0)
  #headFill = 0
  #bodyRead = 0
  #error: Error | undefined

  private constructor(socket: Socket, headLimit: number) {
    this.socket = socket
    this.#headLimit = headLimit
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', (err) => {
      this.#error = err
    })
  }

  /** Connects to 127.0.0.1:port; `headLimit` is how many bytes of each response are kept. */
  static async open(port: number, headLimit = 64 * 1024): Promise<Conn> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    return new Conn(socket, headLimit)
  }

  get inFlight(): number {
    return this.#waiting.length - this.#waitingHead
  }

  get error(): Error | undefined {
    return this.#error
  }

  /** Writes a frame; `onResponse` gets the head of its response. */
  send(frame: Buffer | readonly Buffer[], onResponse: OnResponse): void {
    this.#waiting.push(onResponse)
    if (Buffer.isBuffer(frame)) this.socket.write(frame)
    else {
      this.socket.cork()
      for (const c of frame) this.socket.write(c)
      this.socket.uncork()
    }
  }

  /** Sends one frame and resolves with the head of its response. */
  request(frame: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onClose = (): void => reject(this.#error ?? new Error('connection closed'))
      this.socket.once('close', onClose)
      this.send(frame, (head) => {
        this.socket.off('close', onClose)
        resolve(head)
      })
    })
  }

  close(): void {
    this.socket.destroy()
  }

  #onData(chunk: Buffer): void {
    let pos = 0
    const len = chunk.length
    while (pos < len) {
      if (this.#size < 0) {
        // Fast path: the whole frame lies in this chunk and fits the head limit.
        if (this.#sizeFill === 0 && len - pos >= 4) {
          const size = chunk.readInt32BE(pos)
          if (size <= this.#headLimit && len - pos - 4 >= size) {
            this.#emit(chunk.subarray(pos + 4, pos + 4 + size), size)
            pos += 4 + size
            continue
          }
        }
        const k = Math.min(4 - this.#sizeFill, len - pos)
        chunk.copy(this.#sizeBuf, this.#sizeFill, pos, pos + k)
        this.#sizeFill += k
        pos += k
        if (this.#sizeFill < 4) return
        this.#size = this.#sizeBuf.readInt32BE(0)
        this.#head = Buffer.allocUnsafe(Math.min(this.#size, this.#headLimit))
        this.#headFill = 0
        this.#bodyRead = 0
      }
      const k = Math.min(this.#size - this.#bodyRead, len - pos)
      if (this.#headFill < this.#head.length) {
        const h = Math.min(this.#head.length - this.#headFill, k)
        chunk.copy(this.#head, this.#headFill, pos, pos + h)
        this.#headFill += h
      }
      this.#bodyRead += k
      pos += k
      if (this.#bodyRead === this.#size) {
        const size = this.#size
        this.#size = -1
        this.#sizeFill = 0
        this.#emit(this.#head, size)
      }
    }
  }

  #emit(head: Buffer, size: number): void {
    const cb = this.#waiting[this.#waitingHead]
    if (cb === undefined) throw new Error('response without a request')
    this.#waiting[this.#waitingHead++] = undefined as unknown as OnResponse
    if (this.#waitingHead > 1024 && this.#waitingHead * 2 > this.#waiting.length) {
      this.#waiting.splice(0, this.#waitingHead)
      this.#waitingHead = 0
    }
    cb(head, size)
  }
}

export async function openConns(port: number, count: number, headLimit?: number): Promise<Conn[]> {
  return Promise.all(Array.from({ length: count }, () => Conn.open(port, headLimit)))
}

/** One request of a load: its frame and what it carries (counted when its response arrives). */
export interface LoadRequest {
  frame: Buffer | readonly Buffer[]
  /** Payload bytes the request carries (produce) or that its response is expected to carry. */
  bytes: number
  records: number
}

export interface LoadSpec {
  conns: Conn[]
  /** Requests kept in flight on each connection. */
  inFlight: number
  warmupMs: number
  durationMs: number
  /** The next request for connection i. */
  next(conn: number): LoadRequest
  /**
   * Checks a response (throws on error) and returns the payload bytes it accounts for; by
   * default the request's own `bytes`.
   */
  check(conn: number, req: LoadRequest, head: Buffer, size: number): number | undefined
  /** Called when the measured window opens and closes (CPU meters). */
  onWindow?(phase: 'start' | 'end'): void
}

export interface LoadResult {
  /** Payload bytes answered within the measured window. */
  bytes: number
  records: number
  requests: number
  seconds: number
  /** Round trip of each request answered in the window, ms, sorted. */
  latenciesMs: number[]
}

/**
 * Closed-loop pipelined load: each connection keeps `inFlight` requests outstanding; after a
 * warm-up, responses arriving during `durationMs` are counted (throughput = payload answered in
 * the window / window length). Then sending stops and the requests still in flight are drained
 * (not counted).
 */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const start = now()
    const windowStart = start + BigInt(Math.round(spec.warmupMs * 1e6))
    const windowEnd = windowStart + BigInt(Math.round(spec.durationMs * 1e6))
    let opened = false
    let closed = false
    let failed = false
    const result: LoadResult = { bytes: 0, records: 0, requests: 0, seconds: spec.durationMs / 1000, latenciesMs: [] }
    const latencies: number[] = []
    let outstanding = 0
    let lastProgress = now()

    const finish = (err?: unknown): void => {
      if (failed) return
      if (err !== undefined) {
        failed = true
        clearInterval(watchdog)
        reject(err)
        return
      }
      if (outstanding === 0) {
        clearInterval(watchdog)
        result.latenciesMs = sorted(latencies)
        resolve(result)
      }
    }

    const tick = (t: bigint): void => {
      if (!opened && t >= windowStart) {
        opened = true
        spec.onWindow?.('start')
      }
      if (opened && !closed && t >= windowEnd) {
        closed = true
        spec.onWindow?.('end')
      }
    }

    const issue = (i: number): void => {
      const conn = spec.conns[i] as Conn
      const req = spec.next(i)
      const sentAt = now()
      outstanding++
      conn.send(req.frame, (head, size) => {
        outstanding--
        const t = now()
        lastProgress = t
        tick(t)
        let bytes: number | undefined
        try {
          bytes = spec.check(i, req, head, size)
        } catch (err) {
          finish(err)
          return
        }
        if (opened && !closed) {
          result.bytes += bytes ?? req.bytes
          result.records += req.records
          result.requests++
          latencies.push(Number(t - sentAt) / 1e6)
        }
        if (!closed && !failed) issue(i)
        else finish()
      })
    }

    // Closes the window on time even if responses stall, and fails a load that makes no progress.
    const watchdog = setInterval(() => {
      const t = now()
      tick(t)
      for (const c of spec.conns) if (c.error) finish(c.error)
      if (t - lastProgress > 30_000_000_000n) finish(new Error('no response for 30 s'))
    }, 20)

    for (let i = 0; i < spec.conns.length; i++) for (let k = 0; k < spec.inFlight; k++) issue(i)
  })
}
