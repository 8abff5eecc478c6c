/**
 * What the differential tests need beside the scenarios: the two brokers as targets, raw
 * requests that wait for what a fresh Kafka node sets up lazily (a new topic's leader, the
 * offsets and transaction topics behind the coordinators), and observations reduced to plain
 * JSON (error codes by name, bytes as text) so that a difference reads as a diff.
 */
import assert from 'node:assert/strict'
import { ErrorCode, errorInfo } from '../../src/protocol/error-codes.ts'
import {
  type CreateTopicsResponse,
  createCreatableTopic,
  createCreatableTopicConfig,
  createCreateTopicsRequest,
} from '../../src/protocol/generated/create-topics.ts'
import {
  createDescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../src/protocol/generated/describe-groups.ts'
import {
  createFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../src/protocol/generated/find-coordinator.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createMetadataRequest,
  createMetadataRequestTopic,
  type MetadataResponse,
} from '../../src/protocol/generated/metadata.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { RawClient } from '../helpers/raw-client.ts'

/** One broker under comparison. */
export interface Target {
  readonly name: 'kafka' | 'samsa'
  /** 127.0.0.1:port */
  readonly bootstrap: string
  readonly port: number
}

/** Generous: a busy two-core machine, and a JVM that is still warming up. */
export const PATIENCE_MS = 30_000

/** Runs `use` with a raw connection to the target, closed afterwards. */
export async function withRaw<T>(target: Target, use: (client: RawClient) => Promise<T>): Promise<T> {
  const client = await RawClient.connect(target.port)
  try {
    return await use(client)
  } finally {
    await client.close()
  }
}

/** An error code by its Kafka name (NONE for 0), so that differences read. */
export const errorName = (code: number): string => (code === 0 ? 'NONE' : errorInfo(code).name)

/**
 * A value as JSON can hold it: bigints as numbers (test offsets are small), buffers as their
 * UTF-8 text, error codes (any field named errorCode or ending in ErrorCode) by name.
 */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value)
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  if (Array.isArray(value)) return value.map(plain)
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        /errorCode$|ErrorCode$/.test(k) && typeof v === 'number' ? errorName(v) : plain(v),
      ]),
    )
  }
  return value
}

/** Picks the given fields of an object. */
export function pick<T extends object, K extends keyof T>(value: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, value[k]])) as Pick<T, K>
}

/** Until Metadata names a leader for each of the topic's partitions. */
export async function waitForLeaders(target: Target, topic: string, partitions: number): Promise<void> {
  await withRaw(target, (client) =>
    waitUntil(
      `${target.name}: leaders of ${topic}`,
      async () => {
        const request = createMetadataRequest({
          topics: [createMetadataRequestTopic({ name: topic })],
          allowAutoTopicCreation: false,
        })
        const res = await client.send<MetadataResponse>(ApiKey.Metadata, 12, request)
        const found = res.topics[0]
        return (
          found?.errorCode === 0 &&
          found.partitions.length === partitions &&
          found.partitions.every((p) => p.errorCode === 0 && p.leaderId >= 0)
        )
      },
      { timeoutMs: PATIENCE_MS },
    ),
  )
}

/** Creates a topic (one replica) and waits until it is served; fails on an error code. */
export async function createTopic(
  target: Target,
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
): Promise<void> {
  const res = await withRaw(target, (client) =>
    client.send<CreateTopicsResponse>(
      ApiKey.CreateTopics,
      7,
      createCreateTopicsRequest({
        timeoutMs: PATIENCE_MS,
        topics: [
          createCreatableTopic({
            name,
            numPartitions: partitions,
            replicationFactor: 1,
            configs: Object.entries(configs).map(([n, value]) => createCreatableTopicConfig({ name: n, value })),
          }),
        ],
      }),
    ),
  )
  assert.equal(errorName(res.topics[0]?.errorCode ?? -1), 'NONE', `${target.name}: create ${name}`)
  await waitForLeaders(target, name, partitions)
}

/** keyType of FindCoordinator. */
export const COORDINATOR = { group: 0, transaction: 1 } as const

/**
 * Until the target's coordinator for the key serves: Kafka creates its offsets and transaction
 * state topics on first use, answers COORDINATOR_NOT_AVAILABLE meanwhile, and then names its
 * coordinator a while before the coordinator has loaded (NOT_COORDINATOR or
 * COORDINATOR_LOAD_IN_PROGRESS to group requests). A group's coordinator is asked to describe the
 * group; a transaction's is tried by the callers' InitProducerId, which they retry as clients do.
 */
export async function waitForCoordinator(target: Target, key: string, keyType: number): Promise<void> {
  await withRaw(target, (client) =>
    waitUntil(
      `${target.name}: coordinator of ${key}`,
      async () => {
        const found = await client.send<FindCoordinatorResponse>(
          ApiKey.FindCoordinator,
          4,
          createFindCoordinatorRequest({ keyType, coordinatorKeys: [key] }),
        )
        if (found.coordinators[0]?.errorCode !== ErrorCode.NONE) return false
        if (keyType !== COORDINATOR.group) return true
        const described = await client.send<DescribeGroupsResponse>(
          ApiKey.DescribeGroups,
          5,
          createDescribeGroupsRequest({ groups: [key] }),
        )
        return described.groups[0]?.errorCode === ErrorCode.NONE
      },
      { timeoutMs: PATIENCE_MS },
    ),
  )
}

/**
 * Runs the same observation against both brokers, one after the other (Kafka first), and returns
 * both; the caller compares them.
 */
export async function observeBoth<T>(
  targets: readonly [Target, Target],
  observe: (target: Target) => Promise<T>,
): Promise<{ kafka: T; samsa: T }> {
  const [kafka, samsa] = targets
  const fromKafka = await observe(kafka)
  const fromSamsa = await observe(samsa)
  return { kafka: fromKafka, samsa: fromSamsa }
}
