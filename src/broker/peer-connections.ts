/**
 * This broker's connections to the other brokers of its cluster, for the requests brokers send
 * each other (transaction markers, transaction verification): one connection of the project's
 * client per broker, to the advertised listener the cluster view names, opened on first use and
 * again after it fails or the broker moves, all closed when the broker closes.
 */
import { Connection } from '../client/connection.ts'
import type { BrokerCore } from './broker-core.ts'

const CONNECT_TIMEOUT_MS = 5_000
const REQUEST_TIMEOUT_MS = 10_000

interface Peer {
  host: string
  port: number
  conn: Promise<Connection>
}

export class PeerConnections {
  readonly #core: BrokerCore
  readonly #peers = new Map<number, Peer>()

  constructor(core: BrokerCore) {
    this.#core = core
    core.closing.signal.addEventListener('abort', () => this.#closeAll(), { once: true })
  }

  /** A usable connection to broker `nodeId`. */
  get(nodeId: number): Promise<Connection> {
    const node = this.#core.cluster.node(nodeId)
    if (node === undefined) return Promise.reject(new Error(`broker ${nodeId} is not in the cluster view`))
    const known = this.#peers.get(nodeId)
    if (known !== undefined && known.host === node.host && known.port === node.port) {
      return known.conn.then((c) => (c.usable ? c : this.#reconnect(nodeId, node.host, node.port)))
    }
    return this.#reconnect(nodeId, node.host, node.port)
  }

  /** Closes the connection to `nodeId` after a failed request: the next one opens a new one. */
  drop(nodeId: number): void {
    const peer = this.#peers.get(nodeId)
    this.#peers.delete(nodeId)
    peer?.conn.then((c) => c.close()).catch(() => {})
  }

  #reconnect(nodeId: number, host: string, port: number): Promise<Connection> {
    this.drop(nodeId)
    const conn = Connection.open({
      host,
      port,
      clientId: `samsa-broker-${this.#core.nodeId}`,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    })
    this.#peers.set(nodeId, { host, port, conn })
    conn.catch(() => {
      if (this.#peers.get(nodeId)?.conn === conn) this.#peers.delete(nodeId)
    })
    return conn
  }

  #closeAll(): void {
    for (const nodeId of [...this.#peers.keys()]) this.drop(nodeId)
  }
}
