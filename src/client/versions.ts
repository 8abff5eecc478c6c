/**
 * The API versions this client can build requests for, and the negotiation rule: for each API use
 * the highest version both the client and the broker support (as Kafka clients do after
 * ApiVersions).
 */
import { ApiKey } from '../protocol/generated/index.ts'
import { ClientError } from './errors.ts'

/** An inclusive version range. */
export interface VersionRange {
  min: number
  max: number
}

/**
 * What this client speaks. Lower bounds skip versions that predate magic v2 record batches
 * (Produce v3, Fetch v4) or fields the client relies on.
 */
export const CLIENT_VERSIONS: ReadonlyMap<number, VersionRange> = new Map<number, VersionRange>([
  [ApiKey.Produce, { min: 3, max: 11 }],
  [ApiKey.Fetch, { min: 4, max: 17 }],
  [ApiKey.ListOffsets, { min: 1, max: 10 }],
  [ApiKey.Metadata, { min: 1, max: 12 }],
  [ApiKey.OffsetCommit, { min: 2, max: 9 }],
  [ApiKey.OffsetFetch, { min: 1, max: 9 }],
  [ApiKey.FindCoordinator, { min: 0, max: 6 }],
  [ApiKey.JoinGroup, { min: 1, max: 9 }],
  [ApiKey.Heartbeat, { min: 0, max: 4 }],
  [ApiKey.LeaveGroup, { min: 0, max: 5 }],
  [ApiKey.SyncGroup, { min: 0, max: 5 }],
  [ApiKey.DescribeGroups, { min: 0, max: 5 }],
  [ApiKey.ListGroups, { min: 0, max: 5 }],
  [ApiKey.ApiVersions, { min: 0, max: 4 }],
  [ApiKey.SaslHandshake, { min: 1, max: 1 }],
  [ApiKey.SaslAuthenticate, { min: 0, max: 2 }],
  [ApiKey.DescribeUserScramCredentials, { min: 0, max: 0 }],
  [ApiKey.AlterUserScramCredentials, { min: 0, max: 0 }],
  [ApiKey.CreateTopics, { min: 0, max: 7 }],
  [ApiKey.DeleteTopics, { min: 0, max: 6 }],
  [ApiKey.DeleteRecords, { min: 0, max: 2 }],
  [ApiKey.DescribeConfigs, { min: 1, max: 4 }],
  [ApiKey.IncrementalAlterConfigs, { min: 0, max: 1 }],
  [ApiKey.CreatePartitions, { min: 0, max: 3 }],
  [ApiKey.DeleteGroups, { min: 0, max: 2 }],
  [ApiKey.OffsetDelete, { min: 0, max: 0 }],
  [ApiKey.DescribeCluster, { min: 0, max: 2 }],
  [ApiKey.DescribeLogDirs, { min: 0, max: 4 }],
  [ApiKey.AlterPartitionReassignments, { min: 0, max: 1 }],
  [ApiKey.UnregisterBroker, { min: 0, max: 0 }],
  [ApiKey.WriteTxnMarkers, { min: 0, max: 1 }],
])

/** Highest version in both ranges; throws when they do not overlap or the broker lacks the API. */
export function pickVersion(apiKey: number, broker: ReadonlyMap<number, VersionRange>, name = String(apiKey)): number {
  const ours = CLIENT_VERSIONS.get(apiKey)
  const theirs = broker.get(apiKey)
  if (!ours) throw new ClientError('SAMSA_ERR_UNSUPPORTED_VERSION', `the client does not implement API ${name}`)
  if (!theirs) throw new ClientError('SAMSA_ERR_UNSUPPORTED_VERSION', `the broker does not support API ${name}`)
  const v = Math.min(ours.max, theirs.max)
  if (v < ours.min || v < theirs.min) {
    throw new ClientError(
      'SAMSA_ERR_UNSUPPORTED_VERSION',
      `no common version for API ${name}: client ${ours.min}-${ours.max}, broker ${theirs.min}-${theirs.max}`,
    )
  }
  return v
}
