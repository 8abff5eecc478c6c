import type { Socket } from 'node:net'
import type { Log } from '../util/logger.ts'

/** What the dispatcher answers for one frame. */
export type DispatchResult =
  /** Encoded response (header included, length prefix excluded). */
  | Buffer[]
  /** No response is owed (acks=0 produce), but the request was applied in order. */
  | null
  /** The request was malformed or not allowed: close the connection. */
  | 'close'

export type Dispatcher = (frame: Buffer, connection: Connection) => DispatchResult | Promise<DispatchResult>

export interface ConnectionLimits {
  /** socket.request.max.bytes: a frame larger than this closes the connection. */
  maxFrameBytes: number
  /** Requests read but not yet answered before the connection stops reading. */
  maxInFlight: number
  /**
   * connections.max.idle.ms: a connection with nothing read or written for this long, and no
   * request waiting for its answer, is closed. Omitted or 0: never.
   */
  idleMs?: number
  /** Sees connections, bytes and each request's timeline (the broker's metrics); omitted: nothing is measured. */
  observer?: ConnectionObserver
}

/** What the request and connection metrics are told (times from performance.now()). */
export interface ConnectionObserver {
  opened(): void
  /** The connection closed with `unanswered` requests read but never answered. */
  closed(unanswered: number): void
  read(bytes: number): void
  /** A frame whose last bytes were read at `readAt` goes to the dispatcher now. */
  request(frame: Buffer, readAt: number): RequestTiming
}

/** One request's way out: its answer is ready, goes to the socket, and is flushed to the kernel. */
export interface RequestTiming {
  answered(): void
  writing(bytes: number): void
  /** A write callback: called once the response left (or with acks=0, once none is owed). */
  readonly sent: () => void
}

/** Unsent response bytes above which a connection stops reading requests (a slow client). */
export const MAX_UNSENT_BYTES = 4 * 1024 * 1024

/** Request buffers a connection keeps for reuse, at most: about as many as a pipelining client keeps in flight. */
const MAX_SPARE_BYTES = 16 * 1024 * 1024
/** And all connections of the process together, so that many idle connections hold little. */
const MAX_SPARE_BYTES_ALL = 64 * 1024 * 1024
let spareBytesAll = 0
/** Reusable request buffers are allocated in steps of this size, so that one fits the next frames of about its size. */
const FRAME_STEP = 256 * 1024
/** Smaller frames that span chunks are not worth keeping buffers for. */
const MIN_REUSED_FRAME = 64 * 1024

interface Slot {
  done: boolean
  result: Buffer[] | null
  timing?: RequestTiming
  /** The frame, when its bytes were gathered from several chunks into a buffer the connection may reuse. */
  gathered?: Buffer
  /** The dispatcher said nothing refers to the frame once it is answered (recycle()). */
  recycle?: boolean
}

let nextConnectionId = 1

/**
 * One client connection: splits the byte stream into length-prefixed frames, dispatches each,
 * and writes responses in request order even when handlers finish out of order (clients pipeline
 * requests and match responses by order as well as correlation id). Reading pauses while too
 * many requests are in flight or the socket's write buffer is full.
 */
export class Connection {
  readonly id = nextConnectionId++
  readonly socket: Socket
  readonly remote: string
  /** Who the client is (a Kafka principal, User:name): User:ANONYMOUS until TLS or SASL says otherwise. */
  principal = 'User:ANONYMOUS'
  readonly #dispatch: Dispatcher
  readonly #limits: ConnectionLimits
  readonly #log: Log
  #pending: Buffer[] = []
  #pendingBytes = 0
  /** Buffers of answered requests, free for the next frames that span chunks. */
  #spare: Buffer[] = []
  #spareBytes = 0
  /** The buffer #take gathered the last frame into, if it did. */
  #gathered: Buffer | undefined
  /** Responses owed, oldest first. */
  #slots: Slot[] = []
  #closed = false
  #idleWaiters: (() => void)[] = []
  #draining = false
  /** When the latest bytes came in (only measured with an observer). */
  #readAt = 0
  /** Set while a quota's throttle keeps the connection from reading requests (KIP-219). */
  #unmute: NodeJS.Timeout | undefined
  /** When the current mute ends (Date.now() time). */
  #mutedUntil = 0

  constructor(socket: Socket, dispatch: Dispatcher, limits: ConnectionLimits, log: Log) {
    this.socket = socket
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`
    this.#dispatch = dispatch
    this.#limits = limits
    this.#log = log
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#maybeResume())
    socket.on('error', (err) => this.#log.debug({ err, remote: this.remote }, 'connection error'))
    socket.on('close', () => this.#onClose())
    limits.observer?.opened()
    if (limits.idleMs !== undefined && limits.idleMs > 0) {
      socket.setTimeout(limits.idleMs)
      socket.on('timeout', () => this.#onIdle())
    }
  }

  /** No bytes either way for connections.max.idle.ms: close, unless a request is still being answered. */
  #onIdle(): void {
    if (this.#closed) return
    if (this.#slots.length > 0) {
      // A long-polling fetch or a slow append: wait for another idle period.
      this.socket.setTimeout(this.#limits.idleMs ?? 0)
      return
    }
    this.#log.info({ remote: this.remote, idleMs: this.#limits.idleMs }, 'closing idle connection')
    this.#closed = true
    this.socket.destroy()
  }

  get closed(): boolean {
    return this.#closed
  }

  /** Closes the connection after logging why (garbage, oversized frame, protocol violation). */
  abort(reason: string, details?: Record<string, unknown>): void {
    if (this.#closed) return
    this.#log.warn({ remote: this.remote, ...details }, `closing connection: ${reason}`)
    this.#closed = true
    this.socket.destroy()
  }

  /**
   * Drops the connection with a TCP reset, as the socket of a crashed broker does: clients see a
   * connection error (ECONNRESET), which they treat as a dead broker, not an orderly close.
   */
  reset(reason: string): void {
    if (this.#closed) return
    this.#log.warn({ remote: this.remote }, `resetting connection: ${reason}`)
    this.#closed = true
    this.socket.resetAndDestroy()
  }

  /** Resolves once every request read so far has been answered (for a clean shutdown). */
  idle(): Promise<void> {
    if (this.#slots.length === 0 || this.#closed) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #onClose(): void {
    clearTimeout(this.#unmute)
    this.#limits.observer?.closed(this.#slots.length)
    this.#closed = true
    this.#slots = []
    spareBytesAll -= this.#spareBytes
    this.#spare = []
    this.#spareBytes = 0
    for (const w of this.#idleWaiters.splice(0)) w()
  }

  #onData(chunk: Buffer): void {
    if (this.#limits.observer) {
      this.#readAt = performance.now()
      this.#limits.observer.read(chunk.length)
    }
    this.#pending.push(chunk)
    this.#pendingBytes += chunk.length
    this.#drainFrames()
  }

  #drainFrames(): void {
    // A response completed synchronously resumes draining from inside this loop: let the loop go on.
    if (this.#draining) return
    this.#draining = true
    try {
      this.#cutFrames()
    } finally {
      this.#draining = false
    }
  }

  /** Cuts every complete frame out of the received chunks, copying a frame only if it spans chunks. */
  #cutFrames(): void {
    // A paused socket still delivers what it already read: frames beyond the limits wait here.
    while (!this.#closed && this.#pendingBytes >= 4 && !this.#overLimits()) {
      const size = this.#peekSize()
      if (size < 0 || size > this.#limits.maxFrameBytes) {
        this.abort(size < 0 ? 'negative frame size' : 'frame larger than socket.request.max.bytes', {
          size,
          max: this.#limits.maxFrameBytes,
        })
        return
      }
      if (this.#pendingBytes < 4 + size) return
      this.#take(4)
      this.#handleFrame(this.#take(size))
    }
  }

  #peekSize(): number {
    const first = this.#pending[0] as Buffer
    if (first.length >= 4) return first.readInt32BE(0)
    const head = Buffer.alloc(4)
    let copied = 0
    for (const c of this.#pending) {
      copied += c.copy(head, copied, 0, Math.min(c.length, 4 - copied))
      if (copied === 4) break
    }
    return head.readInt32BE(0)
  }

  #take(n: number): Buffer {
    // A zero-length frame may end a chunk: #pending can be empty here.
    if (n === 0) return Buffer.alloc(0)
    this.#pendingBytes -= n
    const first = this.#pending[0] as Buffer
    if (first.length > n) {
      this.#pending[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    if (first.length === n) {
      this.#pending.shift()
      return first
    }
    const out = this.#gatherInto(n)
    let copied = 0
    while (copied < n) {
      const c = this.#pending[0] as Buffer
      const k = Math.min(c.length, n - copied)
      c.copy(out, copied, 0, k)
      copied += k
      if (k === c.length) this.#pending.shift()
      else this.#pending[0] = c.subarray(k)
    }
    return out
  }

  /**
   * A buffer for a frame of n bytes that spans chunks: a spare one if one is large enough, so that
   * a client sending large requests does not make the broker allocate (and collect) one per request.
   */
  #gatherInto(n: number): Buffer {
    if (n < MIN_REUSED_FRAME) return Buffer.allocUnsafe(n)
    const i = this.#spare.findIndex((b) => b.length >= n)
    let whole: Buffer
    if (i < 0) {
      whole = Buffer.allocUnsafeSlow(Math.ceil(n / FRAME_STEP) * FRAME_STEP)
    } else {
      whole = this.#spare.splice(i, 1)[0] as Buffer
      this.#spareBytes -= whole.length
      spareBytesAll -= whole.length
    }
    this.#gathered = whole.subarray(0, n)
    return this.#gathered
  }

  /**
   * Lets the connection reuse the bytes of a frame it dispatched once the request is answered.
   * The dispatcher calls it only when nothing refers to any part of the frame after that.
   */
  recycle(frame: Buffer): void {
    for (const slot of this.#slots) if (slot.gathered === frame) slot.recycle = true
  }

  #handleFrame(frame: Buffer): void {
    const gathered = this.#gathered
    this.#gathered = undefined
    const slot: Slot = { done: false, result: null, timing: this.#limits.observer?.request(frame, this.#readAt) }
    if (gathered === frame) slot.gathered = frame
    this.#slots.push(slot)
    if (this.#slots.length >= this.#limits.maxInFlight) this.socket.pause()
    let result: DispatchResult | Promise<DispatchResult>
    try {
      result = this.#dispatch(frame, this)
    } catch (err) {
      this.abort('dispatch failed', { err })
      return
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.#complete(slot, r),
        (err) => this.abort('dispatch failed', { err }),
      )
    } else {
      this.#complete(slot, result)
    }
  }

  #complete(slot: Slot, result: DispatchResult): void {
    if (this.#closed) return
    if (result === 'close') {
      this.abort('request rejected')
      return
    }
    slot.done = true
    slot.result = result
    slot.timing?.answered()
    if (slot.recycle && slot.gathered !== undefined) this.#keepSpare(slot.gathered)
    this.#flush()
  }

  /** Keeps the buffer a recycled frame was gathered into (#gatherInto allocates each outside Node's shared pool). */
  #keepSpare(frame: Buffer): void {
    const whole = Buffer.from(frame.buffer)
    if (this.#closed || this.#spareBytes + whole.length > MAX_SPARE_BYTES) return
    if (spareBytesAll + whole.length > MAX_SPARE_BYTES_ALL) return
    this.#spare.push(whole)
    this.#spareBytes += whole.length
    spareBytesAll += whole.length
  }

  #flush(): void {
    const socket = this.socket
    let corked = false
    while (this.#slots.length > 0 && (this.#slots[0] as Slot).done) {
      const { result, timing } = this.#slots.shift() as Slot
      if (result === null) {
        timing?.sent()
        continue
      }
      if (!corked) {
        socket.cork()
        corked = true
      }
      let size = 0
      for (const c of result) size += c.length
      const prefix = Buffer.allocUnsafe(4)
      prefix.writeInt32BE(size, 0)
      socket.write(prefix)
      timing?.writing(size + 4)
      for (let i = 0; i < result.length; i++) {
        socket.write(result[i] as Buffer, i === result.length - 1 ? timing?.sent : undefined)
      }
    }
    if (corked) socket.uncork()
    if (this.#slots.length === 0) for (const w of this.#idleWaiters.splice(0)) w()
    this.#maybeResume()
  }

  /**
   * Reads no requests for `ms` (a quota's throttle time, KIP-219: the client is told in the
   * response and holds back itself; one that does not waits here). Answers owed still go out.
   */
  mute(ms: number): void {
    if (this.#closed || ms <= 0) return
    // Pipelined requests answered while muted must not cut a longer throttle short.
    const until = Date.now() + ms
    if (this.#unmute !== undefined && until <= this.#mutedUntil) return
    clearTimeout(this.#unmute)
    this.#mutedUntil = until
    this.#unmute = setTimeout(() => {
      this.#unmute = undefined
      this.#maybeResume()
    }, ms)
    this.socket.pause()
  }

  /** Too many requests unanswered, too many response bytes unsent, or throttled: read and dispatch no more. */
  #overLimits(): boolean {
    return (
      this.#slots.length >= this.#limits.maxInFlight ||
      this.socket.writableLength >= MAX_UNSENT_BYTES ||
      this.#unmute !== undefined
    )
  }

  #maybeResume(): void {
    if (this.#closed) return
    if (this.#overLimits()) {
      if (!this.socket.isPaused()) this.socket.pause()
      return
    }
    this.#drainFrames()
    if (!this.#overLimits() && this.socket.isPaused()) this.socket.resume()
  }
}
