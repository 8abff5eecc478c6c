import type { ApiCodec } from '../protocol/generated/api-keys.ts'
import type { RequestContext } from './context.ts'

/**
 * One API's handler: the versions it serves and how it answers. `handle` returns the response,
 * or null when no response is owed (acks=0 produce). Kafka outcomes are error codes inside the
 * response; a thrown error is a bug or an I/O fault and is answered through `errorResponse`
 * (every item UNKNOWN_SERVER_ERROR or KAFKA_STORAGE_ERROR) or, without one, by closing the connection.
 */
export interface Handler<Req, Res> {
  /** The API's generated codecs (the `api` export of its module). */
  api: ApiCodec
  minVersion: number
  maxVersion: number
  handle(ctx: RequestContext, request: Req): Res | null | Promise<Res | null>
  errorResponse?(ctx: RequestContext, request: Req, errorCode: number): Res
  /**
   * The one group or transactional id a coordinator API acts on: sent to a broker that does not
   * coordinate it, the request is answered NOT_COORDINATOR through errorResponse.
   */
  coordinatorKey?(ctx: RequestContext, request: Req): string | undefined
  /**
   * Where Kafka refuses a whole request to a principal without some permission (a group's READ,
   * a transactional id's WRITE, the cluster's CLUSTER_ACTION): the error code answered through
   * errorResponse, or undefined when the request may go on. Checked before coordinatorKey.
   */
  refuse?(ctx: RequestContext, request: Req): number | undefined
}

/** A handler with its request and response types erased, as the registry stores it. */
export interface AnyHandler {
  api: ApiCodec
  minVersion: number
  maxVersion: number
  handle(ctx: RequestContext, request: unknown): unknown
  errorResponse?(ctx: RequestContext, request: unknown, errorCode: number): unknown
  coordinatorKey?(ctx: RequestContext, request: unknown): string | undefined
  refuse?(ctx: RequestContext, request: unknown): number | undefined
}

/** Declares a handler; the generic parameters tie it to its generated request and response types. */
export function defineHandler<Req, Res>(handler: Handler<Req, Res>): AnyHandler {
  return handler as AnyHandler
}
