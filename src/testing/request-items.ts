/**
 * The topics and partitions of a request or response, wherever its schema keeps them: lists of
 * topics (`topics`, `topicData`, `responses`...) whose entries name a topic (by name or id) and
 * hold lists of partitions (`partitions`, `partitionIndexes`, `partitionResponses`...), as
 * numbers or as entries with an index. Fault rules match on them and fail some of them.
 */
import type { BrokerCore } from '../broker/broker-core.ts'

/** A topic, or one partition of it, that a request names. */
export interface RequestTarget {
  topic: string
  partition?: number
}

/** An entry of a decoded request or response. */
export type Entry = Record<string, unknown>

/** Where an entry sits in a request or response: keys and list indexes from the top. */
export type Path = readonly (string | number)[]

const TOPIC_LISTS = /^(topics|topicData|topicPartitions|v3AndBelowTopics|responses|results|resultsByTopicV3AndBelow)$/
const PARTITION_LISTS = /^(partitions|partitionData|partitionIndexes|partitionResponses|resultsByPartition)$/

/** Whether `target` covers the item; an item without partitions (a topic-level one) is covered by its topic. */
export function covers(target: RequestTarget, topic: string | undefined, partition: number | undefined): boolean {
  return (
    topic === target.topic &&
    (target.partition === undefined || partition === undefined || partition === target.partition)
  )
}

/** The topics and partitions a request (or response) names. */
export function targetsOf(message: unknown, core: BrokerCore | undefined): RequestTarget[] {
  const out: RequestTarget[] = []
  mapTopicLists(message, (topics) => {
    for (const t of topics) {
      const topic = topicOf(t, core)
      if (topic === undefined) continue
      const partitions = partitionLists(t as Entry).flatMap((key) =>
        ((t as Entry)[key] as unknown[]).map(partitionOf).filter((p) => p !== undefined),
      )
      if (partitions.length === 0) out.push({ topic })
      else for (const partition of partitions) out.push({ topic, partition })
    }
    return topics
  })
  return out
}

/**
 * A copy of `message` in which every list of topics is replaced by what `map` makes of it; the
 * rest is shared with the original.
 */
export function mapTopicLists(
  message: unknown,
  map: (topics: unknown[], path: Path) => unknown[],
  path: Path = [],
): unknown {
  if (message === null || typeof message !== 'object' || Buffer.isBuffer(message)) return message
  if (Array.isArray(message)) return message.map((item, i) => mapTopicLists(item, map, [...path, i]))
  const out: Entry = { ...(message as Entry) }
  for (const [key, value] of Object.entries(message)) {
    if (!Array.isArray(value)) continue
    out[key] = TOPIC_LISTS.test(key) ? map(value, [...path, key]) : mapTopicLists(value, map, [...path, key])
  }
  return out
}

/** The value at `path` in `message`, or undefined. */
export function valueAt(message: unknown, path: Path): unknown {
  let node = message
  for (const step of path) node = node === null || typeof node !== 'object' ? undefined : (node as Entry)[step]
  return node
}

/** The topic a topic entry names, by name or, when it has none, by id. */
export function topicOf(entry: unknown, core: BrokerCore | undefined): string | undefined {
  if (entry === null || typeof entry !== 'object') return undefined
  const o = entry as Entry
  const name = typeof o.name === 'string' ? o.name : typeof o.topic === 'string' ? o.topic : undefined
  if ((name === undefined || name === '') && typeof o.topicId === 'string') return core?.topics.getById(o.topicId)?.name
  return name
}

/** The keys of a topic entry that hold lists of partitions. */
export function partitionLists(topic: Entry): string[] {
  return Object.keys(topic).filter((key) => PARTITION_LISTS.test(key) && Array.isArray(topic[key]))
}

/** The index of a partition item: a number, or an entry's partitionIndex, partition or index. */
export function partitionOf(p: unknown): number | undefined {
  if (typeof p === 'number') return p
  if (p === null || typeof p !== 'object') return undefined
  const o = p as Entry
  for (const k of ['partitionIndex', 'partition', 'index']) if (typeof o[k] === 'number') return o[k]
  return undefined
}
