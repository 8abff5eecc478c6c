/**
 * A streams group's topology (KIP-1071) and how the broker configures it against the topics that
 * exist, as Kafka's InternalTopicManager does: source topics must exist (else
 * MISSING_SOURCE_TOPICS); repartition topics without a fixed partition count take the largest
 * count among the source topics of the subtopologies writing to them; co-partitioned topics must
 * agree, flexible repartition topics among them following the others; a changelog topic has as
 * many partitions as its subtopology has tasks. Internal topics that do not exist yet are listed
 * to be created (MISSING_INTERNAL_TOPICS until they are); an existing one with another count is
 * INCORRECTLY_PARTITIONED_TOPICS.
 */
import { wholeMatchRegex } from '../../util/whole-match-regex.ts'

export interface TopologyTopicInfo {
  name: string
  /** 0: decided by the broker. */
  partitions: number
  /** 0: the broker's default. */
  replicationFactor: number
  topicConfigs: { key: string; value: string }[]
}

export interface StreamsSubtopology {
  subtopologyId: string
  sourceTopics: string[]
  sourceTopicRegex: string[]
  stateChangelogTopics: TopologyTopicInfo[]
  repartitionSinkTopics: string[]
  repartitionSourceTopics: TopologyTopicInfo[]
  /** Indexes into the subtopology's sourceTopics, sourceTopicRegex and repartitionSourceTopics. */
  copartitionGroups: { sourceTopics: number[]; sourceTopicRegex: number[]; repartitionSourceTopics: number[] }[]
}

export interface StreamsTopology {
  epoch: number
  subtopologies: StreamsSubtopology[]
}

/** The heartbeat's status codes (StreamsGroupHeartbeatResponse.Status). */
export const StreamsStatus = {
  STALE_TOPOLOGY: 0,
  MISSING_SOURCE_TOPICS: 1,
  INCORRECTLY_PARTITIONED_TOPICS: 2,
  MISSING_INTERNAL_TOPICS: 3,
  SHUTDOWN_APPLICATION: 4,
} as const

export interface StreamsStatusEntry {
  statusCode: number
  statusDetail: string
}

/** An internal topic the group needs and that does not exist yet. */
export interface InternalTopicToCreate {
  name: string
  partitions: number
  /** -1: the broker's default. */
  replicationFactor: number
  configs: Record<string, string>
}

/** A subtopology with its source topics resolved and every partition count decided. */
export interface ConfiguredSubtopology {
  subtopologyId: string
  numTasks: number
  stateful: boolean
  sourceTopics: string[]
  repartitionSinkTopics: string[]
  repartitionSourceTopics: TopologyTopicInfo[]
  stateChangelogTopics: TopologyTopicInfo[]
}

export interface ConfiguredTopology {
  /** Null when the topology cannot be configured (missing source topics, bad partitioning). */
  subtopologies: ConfiguredSubtopology[] | null
  toCreate: InternalTopicToCreate[]
  /** Set when the group cannot be assigned tasks yet. */
  problem: StreamsStatusEntry | null
}

export interface TopicCounts {
  /** Partition count of an existing topic, else undefined. */
  partitionCount(name: string): number | undefined
  names(): Iterable<string>
}

class TopicConfigurationError extends Error {
  readonly statusCode: number

  constructor(statusCode: number, message: string) {
    super(message)
    this.statusCode = statusCode
  }
}

/** Why a topology is invalid (STREAMS_INVALID_TOPOLOGY), or undefined, as Kafka checks it on join. */
export function topologyProblem(topology: StreamsTopology): string | undefined {
  const repartitionSources = new Set<string>()
  const ids = new Set<string>()
  for (const s of topology.subtopologies) {
    if (ids.has(s.subtopologyId)) return `Duplicate subtopology ID ${s.subtopologyId}.`
    ids.add(s.subtopologyId)
    for (const t of s.repartitionSourceTopics) repartitionSources.add(t.name)
  }
  for (const s of topology.subtopologies) {
    if (s.sourceTopics.length + s.sourceTopicRegex.length + s.repartitionSourceTopics.length === 0) {
      return `Subtopology ${s.subtopologyId} has no source topics.`
    }
    for (const re of s.sourceTopicRegex) {
      if (wholeMatchRegex(re) === undefined)
        return `Invalid regular expression ${re} in subtopology ${s.subtopologyId}.`
    }
    for (const sink of s.repartitionSinkTopics) {
      if (!repartitionSources.has(sink)) {
        return `Repartition sink topic ${sink} of subtopology ${s.subtopologyId} is not a repartition source topic.`
      }
    }
    for (const g of s.copartitionGroups) {
      const inRange = (xs: number[], n: number) => xs.every((i) => i >= 0 && i < n)
      if (
        !inRange(g.sourceTopics, s.sourceTopics.length) ||
        !inRange(g.sourceTopicRegex, s.sourceTopicRegex.length) ||
        !inRange(g.repartitionSourceTopics, s.repartitionSourceTopics.length)
      ) {
        return `Copartition group of subtopology ${s.subtopologyId} refers to a topic it does not have.`
      }
    }
  }
  return undefined
}

/** A subtopology's source topics: the named ones and the existing topics its regexes match. */
function sourceTopicsOf(s: StreamsSubtopology, topics: TopicCounts): string[] {
  const out = new Set(s.sourceTopics)
  const regexes = s.sourceTopicRegex.map((r) => wholeMatchRegex(r)).filter((r) => r !== undefined)
  if (regexes.length > 0) for (const name of topics.names()) if (regexes.some((r) => r.test(name))) out.add(name)
  return [...out].sort()
}

/** Configures a topology against the existing topics (Kafka's InternalTopicManager.configureTopics). */
export function configureTopology(topology: StreamsTopology, topics: TopicCounts): ConfiguredTopology {
  try {
    const sources = new Map(topology.subtopologies.map((s) => [s.subtopologyId, sourceTopicsOf(s, topics)]))
    const missing = [...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics))]
      .filter((t) => topics.partitionCount(t) === undefined)
      .sort()
    if (missing.length > 0) {
      throw new TopicConfigurationError(
        StreamsStatus.MISSING_SOURCE_TOPICS,
        `Source topics ${missing.join(', ')} are missing.`,
      )
    }
    const decided = new Map<string, number>()
    const count = (t: string): number | undefined => topics.partitionCount(t) ?? decided.get(t)
    decideRepartitionCounts(topology, sources, count, decided)
    enforceCopartitioning(topology, sources, count, decided)
    const subtopologies = topology.subtopologies.map((s): ConfiguredSubtopology => {
      const inputs = [...(sources.get(s.subtopologyId) ?? []), ...s.repartitionSourceTopics.map((t) => t.name)]
      const numTasks = Math.max(0, ...inputs.map((t) => count(t) ?? 0))
      // An internal topic's own count is the one decided for it, which an existing topic must match.
      const withCount = (t: TopologyTopicInfo, n: number): TopologyTopicInfo => ({
        ...t,
        partitions: t.partitions || n,
      })
      return {
        subtopologyId: s.subtopologyId,
        numTasks,
        stateful: s.stateChangelogTopics.length > 0,
        sourceTopics: sources.get(s.subtopologyId) ?? [],
        repartitionSinkTopics: s.repartitionSinkTopics,
        repartitionSourceTopics: s.repartitionSourceTopics.map((t) =>
          withCount(t, decided.get(t.name) ?? count(t.name) ?? 0),
        ),
        stateChangelogTopics: s.stateChangelogTopics.map((t) => withCount(t, numTasks)),
      }
    })
    const toCreate = missingInternalTopics(subtopologies, topics)
    const problem =
      toCreate.length === 0
        ? null
        : {
            statusCode: StreamsStatus.MISSING_INTERNAL_TOPICS,
            statusDetail: `Internal topics are missing: ${toCreate.map((t) => t.name).join(', ')}`,
          }
    return { subtopologies, toCreate, problem }
  } catch (err) {
    if (!(err instanceof TopicConfigurationError)) throw err
    return { subtopologies: null, toCreate: [], problem: { statusCode: err.statusCode, statusDetail: err.message } }
  }
}

/**
 * Repartition topics without a fixed count take the largest count among the inputs of the
 * subtopologies that write to them, resolved in rounds since those inputs may be repartition
 * topics themselves (Kafka's RepartitionTopics).
 */
function decideRepartitionCounts(
  topology: StreamsTopology,
  sources: Map<string, string[]>,
  count: (t: string) => number | undefined,
  decided: Map<string, number>,
): void {
  const flexible = new Set<string>()
  for (const s of topology.subtopologies) {
    for (const t of s.repartitionSourceTopics) {
      if (t.partitions > 0) decided.set(t.name, t.partitions)
      else if (count(t.name) === undefined) flexible.add(t.name)
    }
  }
  while (flexible.size > 0) {
    let progress = false
    for (const topic of [...flexible]) {
      const writers = topology.subtopologies.filter((s) => s.repartitionSinkTopics.includes(topic))
      const inputs = writers.flatMap((s) => [
        ...(sources.get(s.subtopologyId) ?? []),
        ...s.repartitionSourceTopics.map((t) => t.name),
      ])
      const counts = inputs.map(count)
      if (inputs.length === 0 || counts.some((c) => c === undefined)) continue
      decided.set(topic, Math.max(...(counts as number[])))
      flexible.delete(topic)
      progress = true
    }
    if (!progress) {
      throw new TopicConfigurationError(
        StreamsStatus.MISSING_SOURCE_TOPICS,
        `The partition counts of repartition topics ${[...flexible].sort().join(', ')} cannot be decided.`,
      )
    }
  }
}

/** Kafka's CopartitionedTopicsEnforcer, for every co-partition group of every subtopology. */
function enforceCopartitioning(
  topology: StreamsTopology,
  sources: Map<string, string[]>,
  count: (t: string) => number | undefined,
  decided: Map<string, number>,
): void {
  const fixed = new Set<string>()
  const flexible = new Set<string>()
  for (const s of topology.subtopologies) {
    for (const t of s.repartitionSourceTopics) (t.partitions > 0 ? fixed : flexible).add(t.name)
  }
  for (const s of topology.subtopologies) {
    for (const g of s.copartitionGroups) {
      const names = [
        ...g.sourceTopics.map((i) => s.sourceTopics[i] as string),
        ...g.repartitionSourceTopics.map((i) => (s.repartitionSourceTopics[i] as TopologyTopicInfo).name),
      ]
      if (g.sourceTopicRegex.length > 0) names.push(...(sources.get(s.subtopologyId) ?? []))
      const others = names.filter((t) => !flexible.has(t))
      const counts = new Set(others.map((t) => count(t)))
      if (counts.size > 1) {
        const detail = others.map((t) => `${t}=${count(t)}`).join(', ')
        throw new TopicConfigurationError(
          StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS,
          `The following topics must have the same number of partitions: ${detail}`,
        )
      }
      const flex = names.filter((t) => flexible.has(t))
      const target = others.length > 0 ? count(others[0] as string) : Math.max(0, ...flex.map((t) => count(t) ?? 0))
      if (target === undefined || target === 0) continue
      // An existing topic keeps its count (count() reads it first) and is checked against the others later.
      for (const t of flex) decided.set(t, target)
    }
  }
}

function missingInternalTopics(subtopologies: ConfiguredSubtopology[], topics: TopicCounts): InternalTopicToCreate[] {
  const wanted = new Map<string, TopologyTopicInfo>()
  for (const s of subtopologies)
    for (const t of [...s.repartitionSourceTopics, ...s.stateChangelogTopics]) wanted.set(t.name, t)
  const toCreate: InternalTopicToCreate[] = []
  for (const t of [...wanted.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const existing = topics.partitionCount(t.name)
    if (existing === undefined) {
      toCreate.push({
        name: t.name,
        partitions: t.partitions,
        replicationFactor: t.replicationFactor > 0 ? t.replicationFactor : -1,
        configs: Object.fromEntries(t.topicConfigs.map((c) => [c.key, c.value])),
      })
    } else if (existing !== t.partitions) {
      throw new TopicConfigurationError(
        StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS,
        `Existing topic ${t.name} has different number of partitions: expected ${t.partitions}, found ${existing}`,
      )
    }
  }
  return toCreate
}
