/**
 * The server side of a benchmark, in its own process so that it has a core of its own and the
 * load generator does not share its event loop. Started by children.ts with one JSON argument:
 *   {kind:'broker', storage, dataDir, config}  a samsa broker (startBroker); storage 'memory',
 *                                              'local' or a postgres:// URL
 *   {kind:'sink', response}                    reads frames, discards them, answers each with
 *                                              the canned response (hex, length-prefixed)
 *   {kind:'source', topic, recordsBytes}       answers each frame with a Fetch response of
 *                                              recordsBytes of records
 * Reports {type:'ready', port, httpPort} over IPC (httpPort: a broker's HTTP port, if it has one); on {type:'close'} it shuts down and exits.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { startBroker } from '../src/broker/broker.ts'
import { cannedFetchResponse } from './requests.ts'

export type ServerSpec =
  | {
      kind: 'broker'
      storage: 'memory' | 'local' | `postgres://${string}`
      dataDir?: string
      config?: Record<string, string>
    }
  | { kind: 'sink'; response: string }
  | { kind: 'source'; topic: string; recordsBytes: number }

/** Calls onFrame once per length-prefixed frame received, without copying any frame. */
function countFrames(socket: Socket, onFrame: () => void): void {
  const sizeBuf = Buffer.alloc(4)
  let sizeFill = 0
  let remaining = -1
  socket.on('data', (chunk: Buffer) => {
    let pos = 0
    while (pos < chunk.length) {
      if (remaining < 0) {
        const k = Math.min(4 - sizeFill, chunk.length - pos)
        chunk.copy(sizeBuf, sizeFill, pos, pos + k)
        sizeFill += k
        pos += k
        if (sizeFill < 4) return
        remaining = sizeBuf.readInt32BE(0)
        sizeFill = 0
      }
      const k = Math.min(remaining, chunk.length - pos)
      remaining -= k
      pos += k
      if (remaining === 0) {
        remaining = -1
        onFrame()
      }
    }
  })
}

async function listen(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => {})
    onSocket(socket)
  })
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return { server, port: address.port }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as ServerSpec
  let close: () => Promise<void>
  let port: number
  let httpPort: number | undefined
  if (spec.kind === 'broker') {
    const broker = await startBroker({ storage: spec.storage, dataDir: spec.dataDir, port: 0, config: spec.config })
    port = broker.port
    httpPort = broker.httpPort
    close = () => broker.close()
  } else {
    const sockets = new Set<Socket>()
    let respond: (socket: Socket) => void
    if (spec.kind === 'sink') {
      const canned = Buffer.from(spec.response, 'hex')
      respond = (socket) => socket.write(canned)
    } else {
      const canned = cannedFetchResponse(spec.topic, 0, Buffer.alloc(spec.recordsBytes, 1))
      respond = (socket) => {
        socket.cork()
        for (const c of canned) socket.write(c)
        socket.uncork()
      }
    }
    const listening = await listen((socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      countFrames(socket, () => respond(socket))
    })
    port = listening.port
    close = async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => listening.server.close(() => resolve()))
    }
  }
  let closing = false
  const shutdown = async (): Promise<void> => {
    if (closing) return
    closing = true
    await close()
    process.send?.({ type: 'closed' })
    process.disconnect?.()
  }
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'close') void shutdown()
  })
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    void shutdown().finally(() => process.exit(0))
  })
  process.send?.({ type: 'ready', port, httpPort })
}

await main()
