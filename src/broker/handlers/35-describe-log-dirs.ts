// DescribeLogDirs: v0-5
// samsa has one log dir: where its storage keeps data (the local engine's directory, made
// absolute, or the engine's location such as "memory"). It lists the requested partitions that
// exist (all of them when topics is null) with their stored size; offset lag is 0 and there are
// no future replicas. Requested partitions that do not exist are left out, as are topics left
// without partitions.
// Version notes: v1 same as v0; v2 flexible; v3 top-level error code; v4 total and usable bytes
// of the file system (statfs on the local engine's directory; -1 when there is none); v5 whether
// the log dir is cordoned (KIP-1066), never here.

import { statfs } from 'node:fs/promises'
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeLogDirsResponse,
  createDescribeLogDirsResult,
  type DescribeLogDirsRequest,
  type DescribeLogDirsResponse,
  type DescribeLogDirsTopic,
} from '../../protocol/generated/describe-log-dirs.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import type { BrokerCore } from '../broker-core.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<DescribeLogDirsRequest, DescribeLogDirsResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  // v0-2 have no top-level error: Kafka answers them with no results.
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.DESCRIBE) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  async handle(ctx, req) {
    const core = ctx.broker
    const wanted = new Map<string, Set<number>>()
    if (req.topics === null) {
      for (const t of core.topics.list())
        wanted.set(t.name, new Set(Array.from({ length: t.partitionCount }, (_, i) => i)))
    } else {
      for (const t of req.topics) {
        const set = wanted.get(t.topic) ?? new Set<number>()
        for (const p of t.partitions) if (core.topics.hasPartition(t.topic, p)) set.add(p)
        wanted.set(t.topic, set)
      }
    }
    const topics: DescribeLogDirsTopic[] = []
    for (const [name, partitions] of wanted) {
      if (partitions.size === 0) continue
      const sorted = [...partitions].sort((a, b) => a - b)
      const sizes = await Promise.all(sorted.map((p) => core.storage.partitionSize(name, p)))
      topics.push({
        name,
        partitions: sorted.map((p, i) => ({
          partitionIndex: p,
          partitionSize: BigInt(sizes[i] ?? 0),
          offsetLag: 0n,
          isFutureKey: false,
        })),
      })
    }
    const space = await diskSpace(core)
    const logDir = core.storage.capabilities.logDir ?? core.storage.location
    return createDescribeLogDirsResponse({
      results: [createDescribeLogDirsResult({ logDir, topics, totalBytes: space.total, usableBytes: space.usable })],
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeLogDirsResponse({ errorCode })
  },
})

/** Size and free space of the file system holding the local engine's directory, or -1 for both. */
async function diskSpace(core: BrokerCore): Promise<{ total: bigint; usable: bigint }> {
  const dir = core.storage.capabilities.logDir
  if (dir === undefined) return { total: -1n, usable: -1n }
  try {
    const s = await statfs(dir, { bigint: true })
    return { total: s.blocks * s.bsize, usable: s.bavail * s.bsize }
  } catch (err) {
    core.log.warn({ err, dir }, 'statfs failed')
    return { total: -1n, usable: -1n }
  }
}
