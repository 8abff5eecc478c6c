/**
 * Client-side partition assignors of the classic group protocol, run by the group leader:
 * `range` (per topic, contiguous ranges, Kafka's RangeAssignor layout) and `cooperative-sticky`
 * (balanced, keeps owned partitions, and never hands a partition to a new owner in the same
 * rebalance in which its old owner still holds it: KIP-429 incremental rebalancing).
 */

/** What the leader knows of a member. */
export interface AssignorMember {
  memberId: string
  topics: string[]
  /** Partitions the member owns now (cooperative protocol), by topic. */
  owned: Record<string, number[]>
  /** Generation in which it owned them (-1 unknown). */
  generationId: number
}

/** Partitions per member id, by topic. */
export type GroupAssignment = Map<string, Record<string, number[]>>

/** An assignment strategy. */
export interface Assignor {
  /** Protocol name in JoinGroup (Kafka's names). */
  name: string
  /** Eager assignors make members revoke everything before rejoining; cooperative ones do not. */
  cooperative: boolean
  assign(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): GroupAssignment
}

function byId(a: AssignorMember, b: AssignorMember): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0
}

function push(out: GroupAssignment, memberId: string, topic: string, partition: number): void {
  const m = out.get(memberId) as Record<string, number[]>
  const list = m[topic] ?? []
  list.push(partition)
  m[topic] = list
}

function emptyAssignment(members: readonly AssignorMember[]): GroupAssignment {
  return new Map(members.map((m) => [m.memberId, {}]))
}

/** Kafka's RangeAssignor: for each topic, members sorted by id get contiguous ranges, the first ones one extra. */
export const rangeAssignor: Assignor = {
  name: 'range',
  cooperative: false,
  assign(members, partitionCounts) {
    const out = emptyAssignment(members)
    const topics = new Set(members.flatMap((m) => m.topics))
    for (const topic of [...topics].sort()) {
      const count = partitionCounts.get(topic) ?? 0
      const subscribed = members.filter((m) => m.topics.includes(topic)).sort(byId)
      if (count === 0 || subscribed.length === 0) continue
      const per = Math.floor(count / subscribed.length)
      const extra = count % subscribed.length
      subscribed.forEach((m, i) => {
        const start = per * i + Math.min(i, extra)
        const len = per + (i < extra ? 1 : 0)
        for (let p = start; p < start + len; p++) push(out, m.memberId, topic, p)
      })
    }
    return out
  },
}

interface Tp {
  topic: string
  partition: number
}

/** A balanced, sticky assignment (the first phase of cooperative-sticky). */
export function stickyAssignment(
  members: readonly AssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): { assignment: Map<string, Tp[]>; previousOwner: Map<string, string> } {
  const sorted = [...members].sort(byId)
  const subscribes = new Map(sorted.map((m) => [m.memberId, new Set(m.topics)]))
  const assignment = new Map<string, Tp[]>(sorted.map((m) => [m.memberId, []]))
  const previousOwner = new Map<string, string>()
  const ownerGeneration = new Map<string, number>()
  // Keep what members own, if still valid; a partition claimed twice goes to the newest generation.
  for (const m of sorted) {
    for (const [topic, parts] of Object.entries(m.owned)) {
      if (!subscribes.get(m.memberId)?.has(topic)) continue
      for (const partition of parts) {
        if (partition >= (partitionCounts.get(topic) ?? 0)) continue
        const key = `${topic}/${partition}`
        const prevGen = ownerGeneration.get(key)
        if (prevGen !== undefined && prevGen >= m.generationId) continue
        previousOwner.set(key, m.memberId)
        ownerGeneration.set(key, m.generationId)
      }
    }
  }
  for (const [key, memberId] of previousOwner) {
    const slash = key.lastIndexOf('/')
    ;(assignment.get(memberId) as Tp[]).push({ topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) })
  }
  // Hand out the rest, each to the eligible member holding the fewest.
  const topics = [...new Set(sorted.flatMap((m) => m.topics))].sort()
  for (const topic of topics) {
    const count = partitionCounts.get(topic) ?? 0
    for (let partition = 0; partition < count; partition++) {
      if (previousOwner.has(`${topic}/${partition}`)) continue
      const target = leastLoaded(sorted, assignment, (id) => subscribes.get(id)?.has(topic) === true)
      if (target) (assignment.get(target) as Tp[]).push({ topic, partition })
    }
  }
  // Move partitions from the most to the least loaded member until no move improves balance.
  for (let guard = 0; guard < 10_000; guard++) {
    if (!moveOne(sorted, assignment, subscribes)) break
  }
  return { assignment, previousOwner }
}

function leastLoaded(
  members: readonly AssignorMember[],
  assignment: Map<string, Tp[]>,
  eligible: (id: string) => boolean,
): string | undefined {
  let best: string | undefined
  let bestCount = Number.POSITIVE_INFINITY
  for (const m of members) {
    if (!eligible(m.memberId)) continue
    const n = (assignment.get(m.memberId) as Tp[]).length
    if (n < bestCount) {
      best = m.memberId
      bestCount = n
    }
  }
  return best
}

function moveOne(
  members: readonly AssignorMember[],
  assignment: Map<string, Tp[]>,
  subscribes: Map<string, Set<string>>,
): boolean {
  const byLoad = [...members].sort(
    (a, b) => (assignment.get(b.memberId) as Tp[]).length - (assignment.get(a.memberId) as Tp[]).length,
  )
  for (const from of byLoad) {
    const fromList = assignment.get(from.memberId) as Tp[]
    for (let i = byLoad.length - 1; i >= 0; i--) {
      const to = byLoad[i] as AssignorMember
      const toList = assignment.get(to.memberId) as Tp[]
      if (fromList.length - toList.length < 2) break
      const idx = findLastIndex(fromList, (tp) => subscribes.get(to.memberId)?.has(tp.topic) === true)
      if (idx < 0) continue
      toList.push(fromList.splice(idx, 1)[0] as Tp)
      return true
    }
  }
  return false
}

function findLastIndex<T>(list: T[], pred: (v: T) => boolean): number {
  for (let i = list.length - 1; i >= 0; i--) if (pred(list[i] as T)) return i
  return -1
}

/** Kafka's CooperativeStickyAssignor behaviour over the classic protocol. */
export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  cooperative: true,
  assign(members, partitionCounts) {
    const { assignment, previousOwner } = stickyAssignment(members, partitionCounts)
    const out = emptyAssignment(members)
    for (const [memberId, tps] of assignment) {
      for (const tp of tps) {
        const prev = previousOwner.get(`${tp.topic}/${tp.partition}`)
        // Still owned by someone else: that member revokes it first; it is assigned next round.
        if (prev !== undefined && prev !== memberId) continue
        push(out, memberId, tp.topic, tp.partition)
      }
    }
    for (const m of out.values()) for (const list of Object.values(m)) list.sort((a, b) => a - b)
    return out
  },
}

/** The assignors by protocol name. */
export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map([
  [rangeAssignor.name, rangeAssignor],
  [cooperativeStickyAssignor.name, cooperativeStickyAssignor],
])
