// AlterReplicaLogDirs: v0-2
// A broker of samsa has one log dir, the one DescribeLogDirs reports (the local engine's
// directory, made absolute, or the engine's location such as the database), and every partition
// lives there. Moving a partition to that dir succeeds with nothing to move; any other path is
// LOG_DIR_NOT_FOUND, as Kafka answers a path that is not one of its log.dirs. A partition that does
// not exist is UNKNOWN_TOPIC_OR_PARTITION. Without ALTER on the cluster every partition is
// CLUSTER_AUTHORIZATION_FAILED.
// Version notes: v1 same as v0 (answered before throttling); v2 flexible.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  type AlterReplicaLogDirPartitionResult,
  type AlterReplicaLogDirsRequest,
  type AlterReplicaLogDirsResponse,
  api,
  createAlterReplicaLogDirsResponse,
} from '../../protocol/generated/alter-replica-log-dirs.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.ALTER) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  handle(ctx, req) {
    const core = ctx.broker
    const logDir = core.storage.capabilities.logDir ?? core.storage.location
    return answer(req, (path, topic, partition) => {
      if (path !== logDir) return ErrorCode.LOG_DIR_NOT_FOUND
      return core.topics.hasPartition(topic, partition) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    })
  },
  errorResponse(_ctx, req, errorCode) {
    return answer(req, () => errorCode)
  },
})

/** One result per partition, grouped by topic; a partition named twice takes the last dir named, as Kafka's map of them does. */
function answer(
  req: AlterReplicaLogDirsRequest,
  outcome: (path: string, topic: string, partition: number) => number,
): AlterReplicaLogDirsResponse {
  const byTopic = new Map<string, Map<number, AlterReplicaLogDirPartitionResult>>()
  for (const dir of req.dirs) {
    for (const t of dir.topics) {
      let partitions = byTopic.get(t.name)
      if (partitions === undefined) {
        partitions = new Map()
        byTopic.set(t.name, partitions)
      }
      for (const partitionIndex of t.partitions) {
        partitions.set(partitionIndex, { partitionIndex, errorCode: outcome(dir.path, t.name, partitionIndex) })
      }
    }
  }
  return createAlterReplicaLogDirsResponse({
    results: [...byTopic].map(([topicName, partitions]) => ({ topicName, partitions: [...partitions.values()] })),
  })
}
