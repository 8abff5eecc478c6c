/**
 * What a telemetry subscription's `match` selectors read about a client: its client id, the
 * software name and version it sent in ApiVersions (v3+), and its address and port.
 */
import type { Connection } from '../../server/connection.ts'
import type { RequestContext } from '../context.ts'
import type { ClientAttributes } from './client-telemetry.ts'

/** The software each connection announced in ApiVersions; gone with the connection. */
const software = new WeakMap<Connection, { name: string; version: string }>()

/** Notes the client software a connection's ApiVersions request named (empty names are not kept). */
export function rememberClientSoftware(connection: Connection, name: string, version: string): void {
  if (name !== '' || version !== '') software.set(connection, { name, version })
}

/** The attributes of the client that sent a request. */
export function clientAttributes(ctx: RequestContext): ClientAttributes {
  const announced = software.get(ctx.connection)
  const socket = ctx.connection.socket
  return {
    clientId: ctx.clientId ?? '',
    softwareName: announced?.name,
    softwareVersion: announced?.version,
    // An IPv4 client of a dual-stack listener shows as ::ffff:a.b.c.d; Kafka would see a.b.c.d.
    sourceAddress: socket.remoteAddress?.replace(/^::ffff:(?=\d+\.)/, ''),
    sourcePort: socket.remotePort,
  }
}
