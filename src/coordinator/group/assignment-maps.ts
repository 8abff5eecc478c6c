/**
 * Assignments as the KIP-848 group types keep them: a map from a topic id (consumer and share
 * groups) or a subtopology id (streams groups) to a list of partitions. Helpers shared by every
 * group type that reconciles such maps.
 */
import type { TopicAssignment } from './assignors.ts'

/** A canonical string of an assignment, to see whether it changed. */
export function assignmentSignature(a: TopicAssignment): string {
  return JSON.stringify([...a].sort((x, y) => (x[0] < y[0] ? -1 : 1)))
}

export function isEmptyAssignment(a: TopicAssignment): boolean {
  for (const ps of a.values()) if (ps.length > 0) return false
  return true
}

/** Every [key, partition] pair of an assignment. */
export function* assignmentEntries(a: TopicAssignment): Generator<[string, number]> {
  for (const [t, ps] of a) for (const p of ps) yield [t, p]
}

export function addToAssignment(a: TopicAssignment, t: string, p: number): void {
  const ps = a.get(t)
  if (ps) ps.push(p)
  else a.set(t, [p])
}

export function assignmentHas(a: TopicAssignment, t: string, p: number): boolean {
  return a.get(t)?.includes(p) ?? false
}

/** Stored form of an assignment (JSON has no maps). */
export type EncodedAssignment = [string, number[]][]

export function encodeAssignment(a: TopicAssignment): EncodedAssignment {
  return [...a]
}

export function decodeAssignment(a: EncodedAssignment): TopicAssignment {
  return new Map(a.map(([k, ps]) => [k, [...ps]]))
}
