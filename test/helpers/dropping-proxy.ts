/**
 * A TCP proxy for tests of retries: forwards bytes both ways and, for chosen Produce requests,
 * lets the request reach the broker, waits until the broker answered, then drops the connection
 * without forwarding the response. The client never learns its write succeeded and retries.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface DroppingProxy {
  port: number
  /** Produce requests whose responses were dropped. */
  dropped: number
  close(): Promise<void>
}

/** Starts a proxy to `target`; every `dropEvery`-th Produce request (1-based) loses its response. */
export async function startDroppingProxy(
  target: { host: string; port: number },
  dropEvery: number,
): Promise<DroppingProxy> {
  let produces = 0
  const sockets = new Set<Socket>()
  const state = { dropped: 0 }
  const server: Server = createServer((client) => {
    const upstream = connect(target)
    sockets.add(client)
    sockets.add(upstream)
    let buffered = Buffer.alloc(0)
    let dropArmed = false
    const kill = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 6) {
        const size = buffered.readInt32BE(0)
        if (buffered.length < 4 + size) break
        const frame = buffered.subarray(0, 4 + size)
        buffered = buffered.subarray(4 + size)
        if (frame.readInt16BE(4) === 0 && ++produces % dropEvery === 0) {
          dropArmed = true
          state.dropped++
        }
        upstream.write(frame)
      }
    })
    upstream.on('data', (chunk: Buffer) => {
      // The broker answered the armed Produce (responses come in request order): drop it.
      if (dropArmed) kill()
      else client.write(chunk)
    })
    client.on('close', kill)
    upstream.on('close', kill)
    client.on('error', kill)
    upstream.on('error', kill)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('proxy has no port')
  return {
    port: address.port,
    get dropped() {
      return state.dropped
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
