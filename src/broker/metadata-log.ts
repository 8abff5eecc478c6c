/**
 * What DescribeQuorum describes in place of KRaft's metadata log: samsa keeps its metadata in the
 * storage engine (a PostgreSQL database shared by the brokers of a cluster, or the process's own
 * store), so the quorum is that store with one voter, the controller the brokers name. Two
 * counters in the key-value store, the same for every broker sharing it, stand for the log's
 * positions: the end offset counts the metadata changes made through the brokers (topics
 * created, deleted, grown, reconfigured or reassigned; brokers registered and unregistered), as
 * KRaft appends a record for each, and the leader epoch rises each time another node becomes the
 * controller, as a KRaft election raises it.
 */
import type { KeyValueStore } from '../storage/types.ts'
import type { Log } from '../util/logger.ts'

const NAMESPACE = 'metadata-log'
const END_OFFSET = 'end-offset'
const LEADER = 'leader'

/** Counts one metadata change, already made: a failure to count it is logged, never the change's. */
export async function appendMetadataRecord(kv: KeyValueStore, log: Log): Promise<void> {
  try {
    await kv.allocate(NAMESPACE, END_OFFSET, 1)
  } catch (err) {
    log.warn({ err }, 'could not count a metadata change for DescribeQuorum')
  }
}

/** The number of metadata changes counted so far. */
export async function metadataEndOffset(kv: KeyValueStore): Promise<number> {
  const raw = await kv.get(NAMESPACE, END_OFFSET)
  return raw === undefined ? 0 : Number(raw.toString())
}

interface Leader {
  leaderId: number
  epoch: number
}

/** The controller last recorded and its epoch (-1 and 0 before any). */
export async function metadataLeader(kv: KeyValueStore): Promise<Leader> {
  const raw = await kv.get(NAMESPACE, LEADER)
  return raw === undefined ? { leaderId: -1, epoch: 0 } : (JSON.parse(raw.toString()) as Leader)
}

/**
 * A node this process serves became the controller in its view: records it with the next epoch,
 * unless it is the one recorded already. A compare-and-set, so two brokers whose views briefly
 * disagree raise the epoch once each, never twice for one change.
 */
export async function recordController(kv: KeyValueStore, nodeId: number): Promise<void> {
  for (;;) {
    const current = await kv.getVersioned(NAMESPACE, LEADER)
    const leader: Leader =
      current.value === undefined ? { leaderId: -1, epoch: 0 } : (JSON.parse(current.value.toString()) as Leader)
    if (leader.leaderId === nodeId) return
    const next = Buffer.from(JSON.stringify({ leaderId: nodeId, epoch: leader.epoch + 1 }))
    if ((await kv.putIfVersion(NAMESPACE, LEADER, current.version, next)) !== null) return
  }
}
