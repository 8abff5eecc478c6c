/**
 * Errors on some items of a request, the rest served: what failNext does when its rule names a
 * topic. Kafka answers partition errors partition by partition (a produce to two partitions can
 * succeed on one and fail on the other), so a test sees one partition fail and the others work:
 * - APIs that change nothing (Fetch, Metadata, ListOffsets...) run on the whole request; the
 *   chosen entries of the answer get the error and lose their data.
 * - APIs that change state and whose error answer lists every item (Produce, OffsetCommit,
 *   TxnOffsetCommit, DeleteRecords, AddPartitionsToTxn v0-3, CreateTopics...) run on the request
 *   without the chosen items, which are never applied (a retried produce cannot duplicate them);
 *   the error answer's entries for those items are merged into the real answer, in request order.
 * - The others, whose error answer is one top-level code, fail whole and are not applied.
 */

import type { BrokerCore } from '../broker/broker-core.ts'
import type { DispatchCall } from '../broker/dispatch.ts'
import { ApiKey } from '../protocol/generated/api-keys.ts'
import {
  covers,
  type Entry,
  mapTopicLists,
  partitionLists,
  partitionOf,
  type RequestTarget,
  targetsOf,
  topicOf,
  valueAt,
} from './request-items.ts'

const READ_ONLY: ReadonlySet<number> = new Set([
  ApiKey.Fetch,
  ApiKey.ListOffsets,
  ApiKey.Metadata,
  ApiKey.OffsetFetch,
  ApiKey.OffsetForLeaderEpoch,
  ApiKey.DescribeProducers,
  ApiKey.DescribeTopicPartitions,
])

/**
 * Answers `call` with `code` on the items `target` covers and the handler's answer on the rest;
 * `failWhole` answers APIs that cannot fail part of a request.
 */
export async function failItems(
  call: DispatchCall,
  target: RequestTarget,
  code: number,
  core: BrokerCore | undefined,
  failWhole: () => Promise<unknown>,
): Promise<unknown> {
  if (READ_ONLY.has(call.apiKey)) {
    // A partition in error ends a long poll at once, as in Kafka.
    const request = call.apiKey === ApiKey.Fetch ? { ...(call.request as Entry), maxWaitMs: 0 } : call.request
    const response = await call.next(request)
    return mapTopicLists(response, (topics) => topics.map((t) => markTopic(t, target, code, core)))
  }
  const errors = call.errorResponse(code)
  const chosen = (message: unknown): number =>
    targetsOf(message, core).filter((t) => covers(target, t.topic, t.partition)).length
  if (errors === undefined || chosen(errors) < chosen(call.request)) return failWhole()
  const served = await call.next(withoutItems(call.request, target, core))
  // acks=0: no answer is owed.
  if (served === null) return null
  return mapTopicLists(served, (topics, path) => mergeTopics(topics, valueAt(errors, path), target, core))
}

/** The request without the items `target` covers; a topic left without partitions goes too. */
function withoutItems(request: unknown, target: RequestTarget, core: BrokerCore | undefined): unknown {
  return mapTopicLists(request, (topics) =>
    topics.flatMap((t) => {
      const topic = topicOf(t, core)
      if (topic !== target.topic) return [t]
      const lists = partitionLists(t as Entry)
      if (target.partition === undefined || lists.length === 0) return []
      const out: Entry = { ...(t as Entry) }
      for (const key of lists) {
        out[key] = (out[key] as unknown[]).filter((p) => !covers(target, topic, partitionOf(p)))
      }
      return lists.some((key) => (out[key] as unknown[]).length > 0) ? [out] : []
    }),
  )
}

/** The error answer's topics, in request order, with the served answer's entries for what was served. */
function mergeTopics(
  served: unknown[],
  errors: unknown,
  target: RequestTarget,
  core: BrokerCore | undefined,
): unknown[] {
  if (!Array.isArray(errors)) return served
  return errors.map((failed) => {
    const topic = topicOf(failed, core)
    const real = served.find((s) => topicOf(s, core) === topic) as Entry | undefined
    if (real === undefined) return failed
    if (topic !== target.topic) return real
    const out: Entry = { ...real }
    for (const key of partitionLists(failed as Entry)) {
      const realPartitions = (real[key] ?? []) as unknown[]
      out[key] = ((failed as Entry)[key] as unknown[]).map((p) => {
        const index = partitionOf(p)
        if (covers(target, topic, index)) return p
        return realPartitions.find((r) => partitionOf(r) === index) ?? p
      })
    }
    return out
  })
}

/** The topic entry with `code` on the items `target` covers. */
function markTopic(t: unknown, target: RequestTarget, code: number, core: BrokerCore | undefined): unknown {
  const topic = topicOf(t, core)
  if (topic !== target.topic) return t
  const lists = partitionLists(t as Entry)
  const out = lists.length === 0 || target.partition === undefined ? failed(t as Entry, code) : { ...(t as Entry) }
  for (const key of lists) {
    out[key] = (out[key] as unknown[]).map((p) =>
      covers(target, topic, partitionOf(p)) ? failed(p as Entry, code) : p,
    )
  }
  return out
}

/** An entry carrying `code` and no data, as Kafka answers an item it refuses. */
function failed(entry: Entry, code: number): Entry {
  const out: Entry = { ...entry }
  for (const key of ['errorCode', 'partitionErrorCode']) if (typeof out[key] === 'number') out[key] = code
  if ('records' in out) out.records = null
  return out
}
