/**
 * Server-side partition assignors of KIP-848 consumer groups, selected by the client through
 * ConsumerGroupHeartbeat's server_assignor: `uniform` (balanced and sticky, like Kafka's
 * UniformAssignor) and `range` (contiguous ranges per topic, like Kafka's RangeAssignor).
 * Topics are identified by topic id, as in the KIP-848 protocol.
 */

/** Partitions by topic id. */
export type TopicAssignment = Map<string, number[]>

/** A member as an assignor sees it. */
export interface AssignorMember {
  memberId: string
  instanceId: string | null
  /** Ids of the topics the member subscribes to (existing topics only). */
  topics: ReadonlySet<string>
  /** The member's previous target assignment, for stickiness. */
  current: TopicAssignment
}

export interface AssignorInput {
  members: readonly AssignorMember[]
  /** Partition count of every subscribed topic, by topic id. */
  partitionCounts: ReadonlyMap<string, number>
}

export interface ServerAssignor {
  name: string
  assign(input: AssignorInput): Map<string, TopicAssignment>
}

/** The set under `key`, created empty if missing. */
function setIn(map: Map<string, Set<number>>, key: string): Set<number> {
  let set = map.get(key)
  if (set === undefined) {
    set = new Set()
    map.set(key, set)
  }
  return set
}

function finish(owned: Map<string, Map<string, Set<number>>>): Map<string, TopicAssignment> {
  const out = new Map<string, TopicAssignment>()
  for (const [member, topics] of owned) {
    const a: TopicAssignment = new Map()
    for (const [t, ps] of topics)
      if (ps.size > 0)
        a.set(
          t,
          [...ps].sort((x, y) => x - y),
        )
    out.set(member, a)
  }
  return out
}

/**
 * Balanced and sticky: every member keeps what it had while that stays fair, free partitions
 * go to the least loaded subscriber, then partitions move from the most to the least loaded
 * members until counts differ by at most one wherever subscriptions allow it.
 */
export const uniformAssignor: ServerAssignor = {
  name: 'uniform',
  assign({ members, partitionCounts }) {
    const owned = new Map<string, Map<string, Set<number>>>()
    const counts = new Map<string, number>()
    const taken = new Set<string>()
    const add = (m: string, t: string, p: number): void => {
      const topics = owned.get(m) as Map<string, Set<number>>
      setIn(topics, t).add(p)
      counts.set(m, (counts.get(m) ?? 0) + 1)
      taken.add(`${t}:${p}`)
    }
    const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
    for (const m of sorted) {
      owned.set(m.memberId, new Map())
      counts.set(m.memberId, 0)
    }
    for (const m of sorted) {
      for (const [t, ps] of m.current) {
        const n = partitionCounts.get(t)
        if (n === undefined || !m.topics.has(t)) continue
        for (const p of ps) if (p < n && !taken.has(`${t}:${p}`)) add(m.memberId, t, p)
      }
    }
    const subscribers = new Map<string, AssignorMember[]>()
    for (const t of partitionCounts.keys())
      subscribers.set(
        t,
        sorted.filter((m) => m.topics.has(t)),
      )
    const free: [string, number][] = []
    for (const [t, n] of partitionCounts) for (let p = 0; p < n; p++) if (!taken.has(`${t}:${p}`)) free.push([t, p])
    free.sort((a, b) => (subscribers.get(a[0])?.length ?? 0) - (subscribers.get(b[0])?.length ?? 0))
    for (const [t, p] of free) {
      const candidates = subscribers.get(t) ?? []
      let best: AssignorMember | undefined
      for (const m of candidates)
        if (!best || (counts.get(m.memberId) ?? 0) < (counts.get(best.memberId) ?? 0)) best = m
      if (best) add(best.memberId, t, p)
    }
    balance(sorted, owned, counts)
    return finish(owned)
  },
}

/** Moves partitions from loaded to light members while that reduces the spread. */
function balance(
  members: readonly AssignorMember[],
  owned: Map<string, Map<string, Set<number>>>,
  counts: Map<string, number>,
): void {
  const count = (m: AssignorMember): number => counts.get(m.memberId) ?? 0
  for (let moved = true; moved; ) {
    moved = false
    const desc = [...members].sort((a, b) => count(b) - count(a))
    const asc = [...desc].reverse()
    outer: for (const heavy of desc) {
      for (const light of asc) {
        if (count(heavy) - count(light) <= 1) break
        const topics = owned.get(heavy.memberId) as Map<string, Set<number>>
        for (const [t, ps] of topics) {
          if (!light.topics.has(t) || ps.size === 0) continue
          const p = Math.max(...ps)
          ps.delete(p)
          setIn(owned.get(light.memberId) as Map<string, Set<number>>, t).add(p)
          counts.set(heavy.memberId, count(heavy) - 1)
          counts.set(light.memberId, count(light) + 1)
          moved = true
          break outer
        }
      }
    }
  }
}

/**
 * Per topic, the subscribed members sorted by instance id (or member id) take contiguous
 * ranges; the first `partitions % members` members get one extra partition.
 */
export const rangeAssignor: ServerAssignor = {
  name: 'range',
  assign({ members, partitionCounts }) {
    const owned = new Map<string, Map<string, Set<number>>>()
    for (const m of members) owned.set(m.memberId, new Map())
    const order = (m: AssignorMember): string => m.instanceId ?? m.memberId
    for (const [t, n] of partitionCounts) {
      const subs = members.filter((m) => m.topics.has(t)).sort((a, b) => (order(a) < order(b) ? -1 : 1))
      if (subs.length === 0) continue
      const per = Math.floor(n / subs.length)
      const extra = n % subs.length
      let next = 0
      subs.forEach((m, i) => {
        const size = per + (i < extra ? 1 : 0)
        const ps = new Set<number>()
        for (let p = next; p < next + size; p++) ps.add(p)
        next += size
        ;(owned.get(m.memberId) as Map<string, Set<number>>).set(t, ps)
      })
    }
    return finish(owned)
  },
}

/** Assignors by name. */
export const SERVER_ASSIGNORS: ReadonlyMap<string, ServerAssignor> = new Map([
  [uniformAssignor.name, uniformAssignor],
  [rangeAssignor.name, rangeAssignor],
])
