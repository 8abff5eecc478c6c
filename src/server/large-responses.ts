/**
 * Bounds the memory a client that does not read its responses can hold, for requests whose
 * responses are large (Fetch). The connection stops reading once MAX_UNSENT_BYTES are unsent, but
 * the requests it already read (up to queued.max.requests of them, often in one TCP chunk) would
 * each still produce a response: 500 pipelined fetches of 1 MiB would buffer 500 MiB.
 *
 * So large responses of a connection are produced one at a time, in request order: each waits
 * for the one before it to reach the socket, then for the socket to hold less than
 * MAX_UNSENT_BYTES. Kafka goes further (it reads no request from a connection until the previous
 * response is sent); clients keep one fetch in flight per connection anyway, so they never wait.
 */
import type { Socket } from 'node:net'
import { setImmediate as nextMacrotask } from 'node:timers/promises'
import { type Connection, MAX_UNSENT_BYTES } from './connection.ts'

interface Turn {
  done: Promise<void>
  settled: boolean
}

const lastTurn = new WeakMap<Connection, Turn>()

/** Waits until this connection may produce a large response; call the returned function once produced. */
export async function takeLargeResponseTurn(connection: Connection): Promise<() => void> {
  const previous = lastTurn.get(connection)
  let release = (): void => {}
  const turn: Turn = { done: new Promise<void>((resolve) => (release = resolve)), settled: false }
  lastTurn.set(connection, turn)
  if (previous !== undefined && !previous.settled) {
    await previous.done
    // The previous response is handed to the socket in the microtasks after its handler returned.
    await nextMacrotask()
  }
  while (connection.socket.writableLength >= MAX_UNSENT_BYTES && !connection.closed) {
    await drainOrClose(connection.socket)
  }
  return () => {
    turn.settled = true
    release()
  }
}

function drainOrClose(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}
