import type { Connection } from '../server/connection.ts'
import type { Log } from '../util/logger.ts'
import type { BrokerCore } from './broker-core.ts'

/** Everything a handler may use while answering one request. */
export interface RequestContext {
  broker: BrokerCore
  /** The node id of the listener the request came in on (one per broker of a multi-broker view). */
  nodeId: number
  /** The name of the listener the request came in on: addresses in answers are that listener's. */
  listener: string
  apiVersion: number
  correlationId: number
  clientId: string | null
  connection: Connection
  log: Log
  /**
   * Lets the connection reuse the request's bytes for a later request once this one is answered.
   * Call it only when nothing will refer to any part of the request after the answer (undefined
   * where something else sees the request, such as samsa/testing's interception).
   */
  recycleFrame?: () => void
}
