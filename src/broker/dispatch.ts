import { ErrorCode } from '../protocol/error-codes.ts'
import { decodeRequestHeader, encodeResponseHeader, type RequestHeader } from '../protocol/frame.ts'
import { ApiKey } from '../protocol/generated/api-keys.ts'
import { createApiVersionsResponse, encodeApiVersionsResponse } from '../protocol/generated/api-versions.ts'
import { ProtocolError } from '../protocol/wire/protocol-error.ts'
import { Reader } from '../protocol/wire/reader.ts'
import { Writer } from '../protocol/wire/writer.ts'
import type { Connection, Dispatcher, DispatchResult } from '../server/connection.ts'
import { kafkaErrorCodeOf } from '../storage/storage-error.ts'
import type { Log } from '../util/logger.ts'
import type { BrokerCore } from './broker-core.ts'
import type { RequestContext } from './context.ts'
import type { AnyHandler } from './handler.ts'
import { chargeEncoding, throttleRequest } from './quotas/throttle.ts'
import { isCoordinator } from './routing.ts'

/** One decoded request as a dispatch hook sees it. */
export interface DispatchCall {
  readonly apiKey: number
  readonly apiVersion: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly ctx: RequestContext
  /** The decoded request; a hook may change it before calling next(). */
  readonly request: unknown
  /** Runs the handler (on `request`, by default the call's); resolves its response, or null when none is owed. */
  next(request?: unknown): Promise<unknown>
  /** The handler's answer with every item set to `errorCode`, or undefined for handlers without one. */
  errorResponse(errorCode: number): unknown
}

/** A hook's answer meaning: close the connection instead of responding. */
export const CLOSE_CONNECTION: unique symbol = Symbol('samsa.closeConnection')

/**
 * Sees every decoded request in place of its handler (samsa/testing's interception and fault
 * injection) and answers with a response object, null (no response), CLOSE_CONNECTION, or a
 * promise of one of those; `call.next()` runs the real handler.
 */
export type DispatchHook = (call: DispatchCall) => unknown

export interface DispatcherOptions {
  /** The node this listener answers as (one listener per broker of a multi-broker view). */
  nodeId: number
  /** The listener's name (PLAINTEXT when omitted): answers give the addresses of that listener. */
  listener?: string
  hook?: DispatchHook
  /** Sees each decoded request with its response (null: none owed), for the metrics. */
  observe?: (apiKey: number, request: unknown, response: unknown) => void
}

/**
 * Turns frames into handler calls and responses into frames. Malformed bytes, unknown APIs and
 * versions outside a handler's range close the connection with a log line (as Kafka does), except
 * ApiVersions, which answers UNSUPPORTED_VERSION in v0 so the client can negotiate.
 */
export function createDispatcher(
  core: BrokerCore,
  handlers: readonly AnyHandler[],
  options: DispatcherOptions,
): Dispatcher {
  const { nodeId, hook, observe } = options
  const listener = options.listener ?? 'PLAINTEXT'
  const byKey: (AnyHandler | undefined)[] = []
  for (const handler of handlers) byKey[handler.api.apiKey] = handler
  const log = core.log

  return (frame: Buffer, connection: Connection): DispatchResult | Promise<DispatchResult> => {
    // Requests are timed for request_percentage quotas only while one exists.
    const timedFrom = core.quotas.enforcingTime ? performance.now() : -1
    const r = new Reader(frame)
    let header: RequestHeader
    try {
      header = decodeRequestHeader(r)
    } catch (err) {
      log.warn({ err, remote: connection.remote }, 'malformed request header')
      return 'close'
    }
    const handler = byKey[header.apiKey]
    const { apiKey, apiVersion } = header
    if (handler === undefined || apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return unsupportedApiVersions(header, handlers)
      log.warn(
        {
          remote: connection.remote,
          apiKey,
          apiVersion,
          correlationId: header.correlationId,
          clientId: header.clientId,
        },
        handler === undefined ? 'unsupported API key' : 'unsupported API version',
      )
      return 'close'
    }
    let request: unknown
    try {
      request = handler.api.decodeRequest(r, apiVersion)
    } catch (err) {
      if (err instanceof ProtocolError) err.withContext(apiKey, apiVersion)
      log.warn({ err, remote: connection.remote, correlationId: header.correlationId }, 'malformed request')
      return 'close'
    }
    const ctx: RequestContext = {
      broker: core,
      nodeId,
      listener,
      apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      connection,
      log,
      recycleFrame: hook === undefined ? () => connection.recycle(frame) : undefined,
    }
    /** The loop's time on the request up to the handler's answer (its waits and continuations excluded). */
    let loopMs = -1
    const respond = (response: unknown): DispatchResult => {
      if (response === CLOSE_CONNECTION) return 'close'
      if (core.quotas.enforcingBytes || loopMs >= 0) throttleRequest(ctx, apiKey, frame.length, response, loopMs)
      observe?.(apiKey, request, response)
      if (loopMs < 0) return encode(handler, header, response, log)
      const encodingFrom = performance.now()
      const encoded = encode(handler, header, response, log)
      chargeEncoding(ctx, apiKey, performance.now() - encodingFrom)
      return encoded
    }
    const fail = (err: unknown): DispatchResult => {
      log.error({ err, apiKey, apiVersion, correlationId: header.correlationId }, 'request failed')
      if (!handler.errorResponse) return 'close'
      return respond(handler.errorResponse(ctx, request, kafkaErrorCodeOf(err)))
    }
    let result: unknown
    try {
      result = hook ? hook(hookCall(handler, ctx, request)) : run(handler, ctx, request)
    } catch (err) {
      return fail(err)
    }
    if (timedFrom >= 0) loopMs = performance.now() - timedFrom
    if (result instanceof Promise) return result.then(respond, fail)
    return respond(result)
  }
}

function hookCall(handler: AnyHandler, ctx: RequestContext, request: unknown): DispatchCall {
  return {
    apiKey: handler.api.apiKey,
    apiVersion: ctx.apiVersion,
    correlationId: ctx.correlationId,
    clientId: ctx.clientId,
    ctx,
    request,
    next(req = request) {
      // Synchronous up to the handler's first await, so appends keep their request order.
      try {
        return Promise.resolve(run(handler, ctx, req))
      } catch (err) {
        return Promise.reject(err)
      }
    },
    errorResponse: (errorCode) => handler.errorResponse?.(ctx, request, errorCode),
  }
}

/**
 * The handler's answer; or its refusal when the principal may not make the request; or
 * NOT_COORDINATOR when another node coordinates the request's group or transaction.
 */
function run(handler: AnyHandler, ctx: RequestContext, request: unknown): unknown {
  const refused = handler.refuse?.(ctx, request)
  if (refused !== undefined && handler.errorResponse) return handler.errorResponse(ctx, request, refused)
  const key = handler.coordinatorKey?.(ctx, request)
  if (key !== undefined && handler.errorResponse && !isCoordinator(ctx, key)) {
    return handler.errorResponse(ctx, request, ErrorCode.NOT_COORDINATOR)
  }
  return handler.handle(ctx, request)
}

function encode(handler: AnyHandler, header: RequestHeader, response: unknown, log: Log): DispatchResult {
  if (response === null) return null
  const w = new Writer(512)
  try {
    encodeResponseHeader(w, header.apiKey, header.apiVersion, header.correlationId)
    handler.api.encodeResponse(w, header.apiVersion, response as never)
  } catch (err) {
    log.error({ err, apiKey: header.apiKey, apiVersion: header.apiVersion }, 'response encoding failed')
    return 'close'
  }
  return w.finish()
}

/** ApiVersions in a version we do not know: answer in v0 with our ranges so the client can pick one. */
function unsupportedApiVersions(header: RequestHeader, handlers: readonly AnyHandler[]): DispatchResult {
  const w = new Writer(512)
  encodeResponseHeader(w, header.apiKey, 0, header.correlationId)
  encodeApiVersionsResponse(
    w,
    0,
    createApiVersionsResponse({ errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: apiVersionRanges(handlers) }),
  )
  return w.finish()
}

/** The ApiVersions list: exactly the handlers registered, sorted by key. */
export function apiVersionRanges(
  handlers: readonly AnyHandler[],
): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return handlers
    .map((h) => ({ apiKey: h.api.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey)
}
