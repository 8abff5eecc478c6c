/**
 * The share groups' simple assignor (KIP-932): every subscribed partition goes to at least one
 * member and the partitions are spread evenly. Share groups need no exclusive ownership, so a
 * topic with fewer partitions than subscribed members gives each member one of them and several
 * members share a partition; with more partitions than members each partition goes to exactly
 * one member, dealt round-robin.
 */
import type { TopicAssignment } from '../group/assignors.ts'

export interface ShareAssignorMember {
  memberId: string
  /** Ids of the existing topics the member subscribes to. */
  topics: ReadonlySet<string>
}

/** The target assignment by member id; `partitionCounts` gives each subscribed topic's size. */
export function assignShareGroup(
  members: readonly ShareAssignorMember[],
  partitionCounts: ReadonlyMap<string, number>,
): Map<string, TopicAssignment> {
  const out = new Map<string, TopicAssignment>(members.map((m) => [m.memberId, new Map()]))
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  // Where the next topic's dealing starts, so that small topics do not all land on the same members.
  let turn = 0
  for (const topicId of [...partitionCounts.keys()].sort()) {
    const count = partitionCounts.get(topicId) ?? 0
    const eligible = sorted.filter((m) => m.topics.has(topicId))
    if (count === 0 || eligible.length === 0) continue
    const give = (member: ShareAssignorMember, partition: number): void => {
      const a = out.get(member.memberId) as TopicAssignment
      const ps = a.get(topicId)
      if (ps) ps.push(partition)
      else a.set(topicId, [partition])
    }
    if (eligible.length <= count) {
      for (let p = 0; p < count; p++) give(eligible[(p + turn) % eligible.length] as ShareAssignorMember, p)
    } else {
      for (let i = 0; i < eligible.length; i++) give(eligible[i] as ShareAssignorMember, (i + turn) % count)
    }
    turn++
  }
  for (const a of out.values()) for (const ps of a.values()) ps.sort((x, y) => x - y)
  return out
}
