/**
 * Byte-rate quotas on the request path: a Produce request's size counts against the client's
 * producer_byte_rate, a Fetch response's records against its consumer_byte_rate. Over the quota,
 * the response carries the throttle time and the connection reads nothing for that long, as
 * Kafka does since KIP-219 (acks=0 produce, which gets no response, is throttled by the mute
 * alone). Only called while some byte-rate quota exists.
 */
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import type { FetchResponse } from '../../protocol/generated/fetch.ts'
import type { RequestContext } from '../context.ts'

function fetchedBytes(response: FetchResponse): number {
  let bytes = 0
  for (const topic of response.responses) for (const p of topic.partitions) bytes += p.records?.length ?? 0
  return bytes
}

export function throttleByteRate(ctx: RequestContext, apiKey: number, requestBytes: number, response: unknown): void {
  const produce = apiKey === ApiKey.Produce
  if (!produce && (apiKey !== ApiKey.Fetch || response === null)) return
  const bytes = produce ? requestBytes : fetchedBytes(response as FetchResponse)
  const principal = ctx.connection.principal
  const user = principal.slice(principal.indexOf(':') + 1)
  const key = produce ? 'producer_byte_rate' : 'consumer_byte_rate'
  const throttleMs = ctx.broker.quotas.record(key, user, ctx.clientId ?? '', bytes, Date.now())
  if (throttleMs <= 0) return
  if (response !== null) {
    const r = response as { throttleTimeMs: number }
    r.throttleTimeMs = Math.max(r.throttleTimeMs, throttleMs)
  }
  ctx.connection.mute(throttleMs)
}
