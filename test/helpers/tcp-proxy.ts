/**
 * A plain TCP proxy whose link can be cut: `cut()` drops every open connection and refuses new
 * ones until `restore()`, as a network partition or a database restart looks to a client.
 *
 * For PostgreSQL's protocol it can also lose one request's fate on purpose (`intercept`): the
 * connection whose client next sends bytes holding a marker (a prepared statement's name) either
 * reaches the server but never hears back (`lose-reply`: the statement runs and commits, its
 * answer is dropped, then the connection is cut), or never reaches it (`hold-request`: the client
 * sees its connection cut, the bytes wait in the proxy, and `release()` delivers them later on
 * the same server connection, as TCP would deliver a lost connection's bytes after a partition).
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

/** One request of a PostgreSQL connection, caught by `intercept`. */
export interface Interception {
  /**
   * Resolves once the request was caught: with `lose-reply`, once the server answered it (its
   * ReadyForQuery seen: the statement committed or failed) and the connection was cut.
   */
  caught: Promise<void>
  /** `hold-request`: sends the held bytes to the server; resolves once it answered them. */
  release(): Promise<void>
}

export interface InterceptOptions {
  /** Cut the whole proxy (every connection, and new ones refused) when the request is caught. */
  cut?: boolean
}

export interface TcpProxy {
  port: number
  /** Connections dropped by cut() so far. */
  readonly dropped: number
  cut(): void
  restore(): void
  /** Catches the next request holding `marker`, as `mode` says. */
  intercept(marker: string, mode: 'lose-reply' | 'hold-request', options?: InterceptOptions): Interception
  close(): Promise<void>
}

interface Pending {
  marker: Buffer
  mode: 'lose-reply' | 'hold-request'
  cut: boolean
  caught: () => void
  held: Buffer[]
  upstream: Socket | undefined
}

interface Connection {
  client: Socket
  upstream: Socket
  /** Server bytes after a lost reply's request: dropped, and read for the ReadyForQuery. */
  losing: Pending | undefined
  /** The client's bytes are held: nothing more goes to the server until release(). */
  holding: Pending | undefined
}

/** True once `bytes`, a run of whole PostgreSQL backend messages from a boundary, hold a ReadyForQuery. */
function hasReadyForQuery(bytes: Buffer): boolean {
  let p = 0
  while (p + 5 <= bytes.length) {
    if (bytes[p] === 0x5a) return true
    p += 1 + bytes.readInt32BE(p + 1)
  }
  return false
}

/** Starts a proxy on 127.0.0.1 to `target`. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let open = true
  let dropped = 0
  const pending: Pending[] = []
  /** Server connections of held requests, not yet released. */
  const heldUpstreams = new Set<Socket>()

  const cut = (): void => {
    open = false
    dropped += sockets.size
    for (const s of sockets) s.destroy()
  }

  const onClientData = (conn: Connection, chunk: Buffer): void => {
    if (conn.holding !== undefined) {
      conn.holding.held.push(chunk)
      return
    }
    const i = pending.findIndex((p) => chunk.includes(p.marker))
    const hit = i < 0 ? undefined : (pending.splice(i, 1)[0] as Pending)
    if (hit?.mode === 'hold-request') {
      conn.holding = hit
      hit.held.push(chunk)
      hit.upstream = conn.upstream
      // The server side stays open for release(); the client hears its connection die.
      sockets.delete(conn.upstream)
      heldUpstreams.add(conn.upstream)
      conn.client.destroy()
      if (hit.cut) cut()
      hit.caught()
      return
    }
    if (hit !== undefined) conn.losing = { ...hit, held: [] }
    conn.upstream.write(chunk)
  }

  const onServerData = (conn: Connection, chunk: Buffer): void => {
    const losing = conn.losing
    if (losing === undefined) {
      conn.client.write(chunk)
      return
    }
    losing.held.push(chunk)
    if (!hasReadyForQuery(Buffer.concat(losing.held))) return
    conn.losing = undefined
    conn.client.destroy()
    conn.upstream.destroy()
    if (losing.cut) cut()
    losing.caught()
  }

  const server: Server = createServer((client) => {
    if (!open) {
      client.destroy()
      return
    }
    const upstream = connect(target)
    const conn: Connection = { client, upstream, losing: undefined, holding: undefined }
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => {
        sockets.delete(s)
        // A held request's server connection outlives its client.
        if (conn.holding === undefined) {
          client.destroy()
          upstream.destroy()
        }
      })
      s.on('error', () => {})
    }
    client.on('data', (chunk: Buffer) => onClientData(conn, chunk))
    upstream.on('data', (chunk: Buffer) => onServerData(conn, chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('proxy did not listen')
  return {
    port: address.port,
    get dropped() {
      return dropped
    },
    cut,
    restore() {
      open = true
    },
    intercept(marker, mode, options = {}) {
      let caught: () => void = () => {}
      const entry: Pending = {
        marker: Buffer.from(marker),
        mode,
        cut: options.cut ?? false,
        caught: () => caught(),
        held: [],
        upstream: undefined,
      }
      const caughtPromise = new Promise<void>((resolve) => {
        caught = resolve
      })
      pending.push(entry)
      return {
        caught: caughtPromise,
        release: async () => {
          const upstream = entry.upstream
          if (upstream === undefined) throw new Error('nothing held')
          const reply: Buffer[] = []
          const answered = new Promise<void>((resolve, reject) => {
            upstream.on('data', (chunk: Buffer) => {
              reply.push(chunk)
              if (hasReadyForQuery(Buffer.concat(reply))) resolve()
            })
            upstream.once('close', () => reject(new Error('the server closed the held connection')))
          })
          for (const chunk of entry.held) upstream.write(chunk)
          try {
            await answered
          } finally {
            heldUpstreams.delete(upstream)
            upstream.destroy()
          }
        },
      }
    },
    close() {
      for (const s of sockets) s.destroy()
      for (const s of heldUpstreams) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
