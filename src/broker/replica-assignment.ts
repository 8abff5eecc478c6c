/** Kafka's checks of a replica list named by hand (CreatePartitions, AlterPartitionReassignments). */
import type { ClusterView } from './cluster.ts'

/** Why the list is refused (INVALID_REPLICA_ASSIGNMENT, with Kafka's message), or undefined. */
export function replicaListProblem(cluster: ClusterView, brokerIds: readonly number[]): string | undefined {
  if (brokerIds.length === 0) return 'The manual partition assignment includes an empty replica list.'
  const sorted = [...brokerIds].sort((a, b) => a - b)
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i] as number
    if (!cluster.isRegistered(id)) {
      return `The manual partition assignment includes broker ${id}, but no such broker is registered.`
    }
    if (i > 0 && sorted[i - 1] === id) {
      return `The manual partition assignment includes the broker ${id} more than once.`
    }
  }
  return undefined
}
