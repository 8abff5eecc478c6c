/**
 * startBroker() for test suites: the embedded broker (memory storage, free port, loopback) plus
 * what a test needs around it — topics created up front with their records, waits instead of
 * sleeps, inspection without a consumer, fault injection, a clock that can be moved forward, and
 * a reset between tests.
 */

import { type Broker, type BrokerOptions, startBroker as startEmbeddedBroker } from '../broker/broker.ts'
import type { BrokerCore } from '../broker/broker-core.ts'
import type { ClusterNode } from '../broker/cluster.ts'
import { invalidTopicName } from '../broker/topics.ts'
import { partitionForKey } from '../client/partitioner.ts'
import { TOPIC_CONFIG_BY_NAME, validateConfigValue } from '../config/topic-configs.ts'
import { encodeBatchSync, type RecordInput } from '../protocol/records/batch.ts'
import { setLogAppendTime } from '../protocol/records/batch-patch.ts'
import { validateBatches } from '../protocol/records/batch-validate.ts'
import { RecordsError } from '../protocol/records/errors.ts'
import { TestClock } from './clock.ts'
import { Faults } from './faults.ts'
import {
  type CommittedOffsetInfo,
  committedOffsets,
  type DecodedRecord,
  describeGroup,
  describeTransaction,
  type GroupInfo,
  type ReadRecordsOptions,
  readRecords,
  type TransactionInfo,
} from './inspect.ts'
import { type WaitOptions, waitUntil } from './wait.ts'

/** A topic to create when the broker starts (and again after reset()). */
export interface TopicSpec {
  name: string
  /** Default: the broker's num.partitions (1). */
  partitions?: number
  /** Replicas Metadata lists per partition; default: the broker's default.replication.factor (1). */
  replicationFactor?: number
  /** Topic configs under Kafka's names (cleanup.policy, retention.ms, ...). */
  configs?: Record<string, string>
  /** Records to write into it. */
  records?: SeedRecord[]
}

/** A record to write straight into a topic. Strings are written as UTF-8. */
export interface SeedRecord {
  key?: string | Buffer | null
  value?: string | Buffer | null
  /**
   * [key, value] pairs in order (a key may repeat, as Kafka allows; a null value is a header
   * without one), or an object of keys to values, as kafkajs takes them.
   */
  headers?: readonly (readonly [string, string | Buffer | null])[] | Record<string, string | Buffer>
  /**
   * Default: the partition the Java client (and kafkajs) picks for the key, murmur2; records
   * without a key go round robin.
   */
  partition?: number
  /** Milliseconds; default: the broker clock's now. */
  timestamp?: number
}

export interface TestBrokerOptions extends Omit<BrokerOptions, 'clock' | 'dispatchHook'> {
  /** Topics to create before startBroker resolves, by name or with partitions, configs and records. */
  topics?: (string | TopicSpec)[]
  /** auto.create.topics.enable (default true, as in Kafka): whether Metadata creates unknown topics. */
  autoCreateTopics?: boolean
}

export interface GroupWaitOptions extends WaitOptions {
  /**
   * Default 'Stable'. 'Dead' is also met by a group the coordinator no longer has (an empty group
   * without offsets is deleted, as in Kafka).
   */
  state?: string
  /** Exactly this many members. */
  members?: number
}

export interface OffsetWaitOptions extends WaitOptions {
  /** read_committed waits for the last stable offset instead of the high watermark. */
  isolation?: 'read_committed' | 'read_uncommitted'
}

export interface TransactionWaitOptions extends WaitOptions {
  /** Default: a completed transaction (CompleteCommit or CompleteAbort). */
  state?: string | string[]
}

const COMPLETED_TXN = ['CompleteCommit', 'CompleteAbort']

/** A broker started by samsa/testing (or several, with the `brokers` option). */
export class TestBroker implements Broker {
  /** The first broker's `host:port`; clients find the others in Metadata. */
  readonly bootstrap: string
  readonly host: string
  readonly port: number
  readonly httpPort: number | undefined
  readonly core: BrokerCore
  /** The broker's clock: real time plus whatever advanceTime() added. */
  readonly clock: TestClock
  /** Error answers, delays, dropped connections, interception. */
  readonly faults: Faults
  readonly #broker: Broker
  readonly #initialTopics: TopicSpec[]
  #roundRobin = 0

  /** @internal use startBroker() from samsa/testing. */
  constructor(broker: Broker, clock: TestClock, faults: Faults, topics: TopicSpec[]) {
    this.#broker = broker
    this.bootstrap = broker.bootstrap
    this.host = broker.host
    this.port = broker.port
    this.httpPort = broker.httpPort
    this.core = broker.core
    this.clock = clock
    this.faults = faults
    this.#initialTopics = topics
  }

  /** Every broker's `host:port`, the shape most clients take (kafkajs `brokers`, platformatic `bootstrapBrokers`). */
  get brokers(): string[] {
    return this.#broker.brokers
  }

  get listeners(): Readonly<Record<string, string[]>> {
    return this.#broker.listeners
  }

  /** Node id and address of every broker, by node id (1, 2, ... unless node.id is set). */
  get nodes(): readonly ClusterNode[] {
    return this.core.cluster.nodes
  }

  /** The node id of the broker leading a partition now. */
  leaderOf(topic: string, partition = 0): number {
    return this.core.cluster.leaderOf(topic, partition)
  }

  /** The node id of the broker coordinating a group or transactional id now. */
  coordinatorOf(groupOrTransactionalId: string): number {
    return this.core.cluster.coordinatorOf(groupOrTransactionalId)
  }

  unsentResponseBytes(): number[] {
    return this.#broker.unsentResponseBytes()
  }

  /** Stops the broker; safe to call twice (from `after()` and `Symbol.asyncDispose`). */
  close(): Promise<void> {
    return this.#broker.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  // ---- topics and records

  /** Creates a topic (and writes its records); fails if it exists or a config is invalid. */
  async createTopic(spec: string | TopicSpec): Promise<void> {
    const t = typeof spec === 'string' ? { name: spec } : spec
    const badName = invalidTopicName(t.name)
    if (badName) throw new Error(`createTopic: ${badName}`)
    const partitions = t.partitions ?? this.core.numberProp('num.partitions')
    if (!Number.isInteger(partitions) || partitions <= 0) {
      throw new Error(`createTopic("${t.name}"): partitions must be a positive integer, got ${partitions}`)
    }
    for (const [name, value] of Object.entries(t.configs ?? {})) {
      const def = TOPIC_CONFIG_BY_NAME.get(name)
      if (def === undefined) throw new Error(`createTopic("${t.name}"): unknown topic config "${name}"`)
      const bad = validateConfigValue(def, value)
      if (bad) throw new Error(`createTopic("${t.name}"): ${bad}`)
    }
    const replicationFactor = t.replicationFactor ?? this.core.numberProp('default.replication.factor')
    if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > this.nodes.length) {
      throw new Error(
        `createTopic("${t.name}"): replicationFactor must be a whole number from 1 to ${this.nodes.length} (the brokers), got ${replicationFactor}`,
      )
    }
    const created = await this.core.topics.create(t.name, partitions, { ...t.configs }, { replicationFactor })
    if (!created) throw new Error(`createTopic: topic "${t.name}" already exists`)
    if (t.records && t.records.length > 0) await this.produce(t.name, t.records)
  }

  /** Deletes a topic with its records and committed offsets; false if there was none. */
  deleteTopic(name: string): Promise<boolean> {
    return this.core.topics.delete(name)
  }

  /**
   * Writes records straight into a topic, bypassing the network (one batch per partition, in
   * order); resolves where each record landed.
   */
  async produce(topic: string, records: SeedRecord | SeedRecord[]): Promise<{ partition: number; offset: number }[]> {
    const meta = this.core.topics.get(topic)
    if (meta === undefined) throw new Error(`produce: topic "${topic}" does not exist`)
    const list = Array.isArray(records) ? records : [records]
    const byPartition = new Map<number, { index: number; input: RecordInput }[]>()
    list.forEach((r, index) => {
      const key = toBuffer(r.key)
      let partition = r.partition
      if (partition === undefined) {
        partition = key ? partitionForKey(key, meta.partitionCount) : this.#roundRobin++ % meta.partitionCount
      }
      if (!Number.isInteger(partition) || partition < 0 || partition >= meta.partitionCount) {
        throw new Error(
          `produce: topic "${topic}" has ${meta.partitionCount} partitions, there is no partition ${partition}`,
        )
      }
      const pairs = Array.isArray(r.headers) ? r.headers : Object.entries(r.headers ?? {})
      const headers = pairs.map(([k, v]) => ({ key: k, value: toBuffer(v) ?? null }))
      const input: RecordInput = { key, value: toBuffer(r.value), headers, timestamp: r.timestamp }
      const group = byPartition.get(partition)
      if (group) group.push({ index, input })
      else byPartition.set(partition, [{ index, input }])
    })
    const out = new Array<{ partition: number; offset: number }>(list.length)
    const logAppendTime = this.core.topics.logConfig(topic).messageTimestampType === 'LogAppendTime'
    for (const [partition, items] of byPartition) {
      const now = this.clock.now()
      const data = encodeBatchSync({ records: items.map((i) => i.input), defaultTimestamp: now })
      const batches = validateBatches(data)
      if (batches instanceof RecordsError) throw batches
      if (logAppendTime) for (const b of batches) setLogAppendTime(data, b, now)
      const { baseOffset } = await this.core.storage.append(
        topic,
        partition,
        { data, batches },
        { durable: false, leaderEpoch: this.core.leadership.appendEpoch(topic, partition) },
      )
      items.forEach((item, i) => {
        out[item.index] = { partition, offset: baseOffset + i }
      })
    }
    return out
  }

  /** The records of a topic, decoded (all partitions unless `partition`). */
  records(topic: string, options?: ReadRecordsOptions): Promise<DecodedRecord[]> {
    return readRecords(this.core, topic, options)
  }

  /** Log start offset, high watermark and last stable offset of a partition. */
  async offsets(
    topic: string,
    partition = 0,
  ): Promise<{ logStartOffset: number; highWatermark: number; lastStableOffset: number }> {
    if (!this.core.topics.hasPartition(topic, partition)) {
      throw new Error(`offsets: there is no partition ${partition} of topic "${topic}"`)
    }
    const o = await this.core.storage.offsets(topic, partition)
    const lastStableOffset = this.core.producers.lastStableOffset(topic, partition, o.highWatermark)
    return { logStartOffset: o.logStartOffset, highWatermark: o.highWatermark, lastStableOffset }
  }

  // ---- groups and transactions

  /** A consumer group's state, members and assignment, or undefined if there is none. */
  group(groupId: string): GroupInfo | undefined {
    return describeGroup(this.core, groupId)
  }

  /** Every offset a group committed. */
  committedOffsets(groupId: string): CommittedOffsetInfo[] {
    return committedOffsets(this.core, groupId)
  }

  /** The offset a group committed for a partition, or undefined. */
  committedOffset(groupId: string, topic: string, partition = 0): number | undefined {
    const o = this.core.groups.offsets.get(groupId, topic, partition)
    return o === undefined ? undefined : Number(o.offset)
  }

  /** A transactional id's coordinator state, or undefined. */
  transaction(transactionalId: string): TransactionInfo | undefined {
    return describeTransaction(this.core, transactionalId)
  }

  // ---- waits

  /** Resolves the first truthy value of `check` (sync or async), polled every few ms. */
  waitFor<T>(
    check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
    options: WaitOptions & { message?: string } = {},
  ): Promise<T> {
    return waitUntil(options.message ?? 'a condition', check, options)
  }

  /** Until the group is in `state` (default Stable), with exactly `members` members if given. */
  waitForGroup(groupId: string, options: GroupWaitOptions = {}): Promise<GroupInfo> {
    const state = options.state ?? 'Stable'
    const members = options.members
    const want = `group "${groupId}" to be ${state}${members === undefined ? '' : ` with ${members} member(s)`}`
    return waitUntil(
      want,
      () => {
        const g = this.group(groupId) ?? (state === 'Dead' ? deadGroup(groupId) : undefined)
        return g && g.state === state && (members === undefined || g.members.length === members) ? g : undefined
      },
      {
        ...options,
        describe: () => {
          const g = this.group(groupId)
          if (!g) return 'the group does not exist'
          return `it is ${g.state} with ${g.members.length} member(s), generation ${g.generation}`
        },
      },
    )
  }

  /** Until a partition's high watermark (or last stable offset) reaches `offset`; resolves it. */
  waitForOffset(topic: string, partition: number, offset: number, options: OffsetWaitOptions = {}): Promise<number> {
    const committed = options.isolation === 'read_committed'
    const what = committed ? 'last stable offset' : 'high watermark'
    let seen = 'the partition does not exist'
    const current = async (): Promise<number | undefined> => {
      if (!this.core.topics.hasPartition(topic, partition)) return undefined
      const o = await this.offsets(topic, partition)
      const at = committed ? o.lastStableOffset : o.highWatermark
      seen = `it is at ${at}`
      return at
    }
    return waitUntil(
      `${topic}-${partition} ${what} to reach ${offset}`,
      async () => {
        const at = await current()
        return at !== undefined && at >= offset ? at : undefined
      },
      {
        ...options,
        describe: () => seen,
        // Appends wake the wait; transaction markers move the LSO with an append as well.
        wake: (ms) =>
          this.core.topics.hasPartition(topic, partition)
            ? this.core.waiters.wait([{ topic, partition }], ms)
            : new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5))),
      },
    )
  }

  /** Until the group's committed offset for a partition is at least `offset`; resolves it. */
  waitForCommittedOffset(
    groupId: string,
    topic: string,
    partition: number,
    offset: number,
    options: WaitOptions = {},
  ): Promise<number> {
    return waitUntil(
      `group "${groupId}" to commit offset ${offset} for ${topic}-${partition}`,
      () => {
        const at = this.committedOffset(groupId, topic, partition)
        return at !== undefined && at >= offset ? at : undefined
      },
      {
        ...options,
        describe: () => {
          const at = this.committedOffset(groupId, topic, partition)
          return at === undefined ? 'nothing is committed there' : `the committed offset is ${at}`
        },
      },
    )
  }

  /** Until a transactional producer has a producer id (InitProducerId done); resolves its state. */
  waitForProducerId(transactionalId: string, options: WaitOptions = {}): Promise<TransactionInfo> {
    return waitUntil(
      `transactional id "${transactionalId}" to get a producer id`,
      () => {
        const t = this.transaction(transactionalId)
        return t && t.producerId >= 0 ? t : undefined
      },
      { ...options, describe: () => 'the transaction coordinator does not know it' },
    )
  }

  /** Until the transactional id's transaction is in `state` (default: committed or aborted). */
  waitForTransaction(transactionalId: string, options: TransactionWaitOptions = {}): Promise<TransactionInfo> {
    const states = options.state === undefined ? COMPLETED_TXN : [options.state].flat()
    return waitUntil(
      `the transaction of "${transactionalId}" to be ${states.join(' or ')}`,
      () => {
        const t = this.transaction(transactionalId)
        return t && states.includes(t.state) ? t : undefined
      },
      {
        ...options,
        describe: () => {
          const t = this.transaction(transactionalId)
          return t ? `it is ${t.state}` : 'the transaction coordinator does not know it'
        },
      },
    )
  }

  // ---- time

  /**
   * Moves the broker's clock forward: group session and rebalance timeouts and long polls'
   * max_wait_ms that fall due end now, then transaction timeouts, offset retention and producer
   * id expiry are checked against the new time, and the storage engine applies retention
   * (retention.ms, retention.bytes) and, on the engines that compact (local, postgres), compaction
   * (min/max.compaction.lag.ms, delete.retention.ms) — all done when the promise resolves. Record timestamps (LogAppendTime,
   * seeded records, commit times) follow the clock too.
   */
  async advanceTime(ms: number): Promise<void> {
    this.clock.advance(ms)
    await this.core.txns.abortTimedOut()
    await this.core.groups.expireOffsets()
    await this.core.producers.snapshot()
    // After the aborts: compaction never passes an open transaction.
    await this.core.storage.runRetention?.()
    await this.core.storage.runCleaner?.()
  }

  // ---- availability and isolation

  /**
   * Plays dead until setAvailable(true): the port closes (connecting is refused), open
   * connections are reset and no request is answered from the moment of the call. With several
   * brokers, `nodeId` picks one: the live ones take over its partitions and coordinators, so
   * clients carry on after a metadata refresh, as with a replicated cluster. Resolves once the
   * port is closed, or listening again.
   */
  setAvailable(available: boolean, options: { nodeId?: number } = {}): Promise<void> {
    return this.faults.setAvailable(available, options)
  }

  /** See Broker.setListening; setAvailable() also moves leadership. */
  setListening(nodeId: number, listening: boolean): Promise<void> {
    return this.#broker.setListening(nodeId, listening)
  }

  /**
   * Back to the state right after startBroker(), without restarting: faults cleared, every broker
   * available, every topic and group deleted and the start topics created again with their
   * records. Consumers must have left their groups (close them first). Transactional ids stay.
   */
  async reset(): Promise<void> {
    this.faults.clear()
    await this.faults.setAvailable(true)
    const busy = this.core.groups.listGroups([], []).filter((g) => !this.core.groups.group(g.groupId)?.isEmpty())
    if (busy.length > 0) {
      const names = busy.map((g) => `"${g.groupId}" (${g.groupState})`).join(', ')
      throw new Error(`reset: consumer groups still have members: ${names}; close their consumers before reset()`)
    }
    for (const g of this.core.groups.listGroups([], [])) await this.core.groups.deleteGroup(g.groupId)
    for (const t of this.core.topics.list()) await this.core.topics.delete(t.name)
    this.#roundRobin = 0
    for (const t of this.#initialTopics) await this.createTopic(t)
  }
}

function deadGroup(groupId: string): GroupInfo {
  return { groupId, type: 'classic', state: 'Dead', protocolType: null, protocol: null, generation: -1, members: [] }
}

function toBuffer(v: string | Buffer | null | undefined): Buffer | null {
  if (v === undefined || v === null) return null
  return typeof v === 'string' ? Buffer.from(v) : v
}

/**
 * Starts a broker for tests: in memory, on a free loopback port, with the topics given, fault
 * injection and a movable clock; `brokers: 3` makes it a cluster of three on three ports. Close
 * it in `after()`/`afterAll()` or with `await using`.
 */
export async function startBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const { topics = [], autoCreateTopics, ...rest } = options
  const specs = topics.map((t) => (typeof t === 'string' ? { name: t } : t))
  const config: Record<string, string> = { ...rest.config }
  if (autoCreateTopics !== undefined) config['auto.create.topics.enable'] = String(autoCreateTopics)
  const clock = new TestClock()
  let started: Broker | undefined
  const faults = new Faults(() => started)
  const broker = await startEmbeddedBroker({ ...rest, config, clock, dispatchHook: faults.hook })
  started = broker
  const testBroker = new TestBroker(broker, clock, faults, specs)
  try {
    for (const t of specs) await testBroker.createTopic(t)
  } catch (err) {
    await broker.close()
    throw err
  }
  return testBroker
}
