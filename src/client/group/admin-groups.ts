/** Group admin calls: list (every broker), describe and delete (each group's coordinator). */
import { createDeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/delete-groups.ts'
import { createDescribeGroupsRequest, type DescribeGroupsResponse } from '../../protocol/generated/describe-groups.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import { createListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/list-groups.ts'
import type { Cluster } from '../cluster.ts'
import { ClientError, KafkaError } from '../errors.ts'
import { withRetry } from '../retry.ts'
import { decodeAssignment, decodeSubscription } from './consumer-protocol.ts'

/** A described group member. */
export interface GroupMember {
  memberId: string
  groupInstanceId: string | null
  clientId: string
  clientHost: string
  /** Subscribed topics (consumer groups). */
  topics: string[]
  /** Assigned partitions by topic (consumer groups). */
  assignment: Record<string, number[]>
}

/** A described group. */
export interface GroupDescription {
  groupId: string
  state: string
  protocolType: string
  protocol: string
  members: GroupMember[]
}

/** A listed group. */
export interface GroupListing {
  groupId: string
  protocolType: string
  state: string
  type: string
}

function firstError(code: number, message: string | null, resource: string): void {
  if (code !== 0) throw new KafkaError(code, message, resource)
}

/** Every group of every broker. */
export async function listGroups(cluster: Cluster): Promise<GroupListing[]> {
  await cluster.refreshMetadata([])
  const out: GroupListing[] = []
  await Promise.all(
    [...cluster.brokers.keys()].map(async (node) => {
      const conn = await cluster.connection(node)
      const res = await conn.send<ListGroupsResponse>(ApiKey.ListGroups, () => createListGroupsRequest())
      firstError(res.errorCode, null, `broker ${node}`)
      for (const g of res.groups) {
        out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType })
      }
    }),
  )
  return out.sort((a, b) => a.groupId.localeCompare(b.groupId))
}

/** Describes groups (state, members, assignments). A group that does not exist reads as Dead. */
export async function describeGroups(cluster: Cluster, groupIds: string[]): Promise<GroupDescription[]> {
  return Promise.all(
    groupIds.map((groupId) =>
      withRetry(
        async () => {
          const conn = await cluster.coordinatorConnection(groupId)
          const res = await conn.send<DescribeGroupsResponse>(ApiKey.DescribeGroups, () =>
            createDescribeGroupsRequest({ groups: [groupId] }),
          )
          const g = res.groups[0]
          if (!g) throw new ClientError('SAMSA_ERR_PROTOCOL', 'DescribeGroups returned no group')
          if (g.errorCode === 16 || g.errorCode === 15) cluster.invalidateCoordinator(groupId)
          firstError(g.errorCode, null, groupId)
          const consumer = g.protocolType === 'consumer'
          return {
            groupId: g.groupId,
            state: g.groupState,
            protocolType: g.protocolType,
            protocol: g.protocolData,
            members: g.members.map((m) => {
              let topics: string[] = []
              let assignment: Record<string, number[]> = {}
              if (consumer) {
                try {
                  if (m.memberMetadata.length > 0) topics = decodeSubscription(m.memberMetadata).topics
                  assignment = decodeAssignment(m.memberAssignment)
                } catch {
                  // Not parseable as the consumer protocol: show the member without it.
                }
              }
              return {
                memberId: m.memberId,
                groupInstanceId: m.groupInstanceId,
                clientId: m.clientId,
                clientHost: m.clientHost,
                topics,
                assignment,
              }
            }),
          }
        },
        { retries: cluster.retries },
      ),
    ),
  )
}

/** Deletes groups (they must be empty). */
export async function deleteGroups(cluster: Cluster, groupIds: string[]): Promise<void> {
  for (const groupId of groupIds) {
    await withRetry(
      async () => {
        const conn = await cluster.coordinatorConnection(groupId)
        const res = await conn.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, () =>
          createDeleteGroupsRequest({ groupsNames: [groupId] }),
        )
        for (const r of res.results) {
          if (r.errorCode === 16 || r.errorCode === 15) cluster.invalidateCoordinator(groupId)
          firstError(r.errorCode, null, r.groupId)
        }
      },
      { retries: cluster.retries },
    )
  }
}
