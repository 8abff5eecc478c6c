/**
 * Client quotas on the request path. A Produce request's size counts against the client's
 * producer_byte_rate, a Fetch response's records against its consumer_byte_rate, and the event
 * loop's time spent on any request (decoding, the handler's synchronous part, encoding) against
 * its request_percentage (KIP-124). Over a quota, the response carries the throttle time (the
 * longer one when both apply) and the connection reads nothing for that long, as Kafka does since
 * KIP-219; a throttled Fetch returns no records, which then do not count. acks=0 produce, which
 * gets no response, is throttled by its byte rate's mute alone.
 */
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import type { FetchResponse } from '../../protocol/generated/fetch.ts'
import type { RequestContext } from '../context.ts'

/**
 * Requests whose time Kafka never throttles: version negotiation, authentication, and what brokers
 * send each other (cluster actions).
 */
const TIME_EXEMPT = new Set<number>([
  ApiKey.ApiVersions,
  ApiKey.SaslHandshake,
  ApiKey.SaslAuthenticate,
  ApiKey.WriteTxnMarkers,
])

function fetchedBytes(response: FetchResponse): number {
  let bytes = 0
  for (const topic of response.responses) for (const p of topic.partitions) bytes += p.records?.length ?? 0
  return bytes
}

function dropRecords(response: FetchResponse): void {
  for (const topic of response.responses) for (const p of topic.partitions) p.records = null
}

/** The user name of the connection's principal (User:name), as quota entities name users. */
export function userOf(ctx: RequestContext): string {
  const principal = ctx.connection.principal
  return principal.slice(principal.indexOf(':') + 1)
}

/**
 * Records a request against the client's quotas, and throttles it when one is exceeded.
 * `loopMs`: the event loop's time spent on it so far, or a negative number when it was not timed.
 */
export function throttleRequest(
  ctx: RequestContext,
  apiKey: number,
  requestBytes: number,
  response: unknown,
  loopMs: number,
): void {
  const quotas = ctx.broker.quotas
  const now = Date.now()
  let throttleMs = 0
  const fetch = apiKey === ApiKey.Fetch && response !== null
  let fetched = 0
  if (quotas.enforcingBytes) {
    const produce = apiKey === ApiKey.Produce
    if (produce || fetch) {
      if (fetch) fetched = fetchedBytes(response as FetchResponse)
      const key = produce ? 'producer_byte_rate' : 'consumer_byte_rate'
      throttleMs = quotas.record(key, userOf(ctx), ctx.clientId ?? '', produce ? requestBytes : fetched, now)
    }
  }
  if (loopMs >= 0 && response !== null && !TIME_EXEMPT.has(apiKey)) {
    throttleMs = Math.max(throttleMs, quotas.recordTime(userOf(ctx), ctx.clientId ?? '', loopMs, now))
  }
  if (throttleMs <= 0) return
  if (fetch) {
    // As Kafka answers a throttled fetch: without records, which the client fetches again later.
    if (fetched > 0) quotas.record('consumer_byte_rate', userOf(ctx), ctx.clientId ?? '', -fetched, now)
    dropRecords(response as FetchResponse)
  }
  if (response !== null && typeof response === 'object' && 'throttleTimeMs' in response) {
    const r = response as { throttleTimeMs: number }
    r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleMs)
  }
  ctx.connection.mute(throttleMs)
}

/**
 * Adds the time spent encoding a response to the client's request_percentage, without throttling
 * (as Kafka records its network threads' time after the response): the next request pays for it.
 */
export function chargeEncoding(ctx: RequestContext, apiKey: number, ms: number): void {
  if (!TIME_EXEMPT.has(apiKey)) ctx.broker.quotas.recordTime(userOf(ctx), ctx.clientId ?? '', ms, Date.now())
}
