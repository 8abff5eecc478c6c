/**
 * ACLs in a cluster over PostgreSQL: an ACL created through one broker is enforced by another
 * (it polls the shared store for changes), and so is its deletion.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type CreateAclsResponse, createCreateAclsRequest } from '../../src/protocol/generated/create-acls.ts'
import { type CreateTopicsResponse, createCreateTopicsRequest } from '../../src/protocol/generated/create-topics.ts'
import { createDeleteAclsRequest, type DeleteAclsResponse } from '../../src/protocol/generated/delete-acls.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { AUTHORIZER } from './acl-helpers.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('an ACL created or deleted through one broker is enforced by the others', {
  skip: (await hasPostgres()) ? false : POSTGRES_MISSING,
}, async (t) => {
  const url = (await freshDatabase()) as `postgres://${string}`
  const config = {
    'broker.heartbeat.interval.ms': '200',
    'broker.session.timeout.ms': '1000',
    'authorizer.class.name': AUTHORIZER,
    // User:ANONYMOUS may do what no ACL names: here everything but the topic 'hidden' once denied.
    'allow.everyone.if.no.acl.found': 'true',
  }
  const a = await startBroker({ storage: url, config })
  t.after(() => a.close())
  const b = await startBroker({ storage: url, config })
  t.after(() => b.close())
  const toA = await RawClient.connect(a.port)
  t.after(() => toA.close())
  const toB = await RawClient.connect(b.port)
  t.after(() => toB.close())

  const created = await toA.send<CreateTopicsResponse>(
    ApiKey.CreateTopics,
    7,
    createCreateTopicsRequest({
      topics: ['hidden', 'open'].map((name) => ({
        name,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
    }),
  )
  assert.deepEqual(
    created.topics.map((x) => x.errorCode),
    [ErrorCode.NONE, ErrorCode.NONE],
  )
  const topicsSeenByB = async (): Promise<string[]> =>
    (await toB.send<MetadataResponse>(ApiKey.Metadata, 12, createMetadataRequest({ topics: null }))).topics
      .map((x) => x.name ?? '')
      .sort()
  const wait = { timeoutMs: 30_000, wake: (ms: number) => sleep(Math.min(ms, 50)) }
  await waitUntil('broker B to see both topics', async () => (await topicsSeenByB()).length === 2, wait)

  const acl = { resourceType: 2, resourceName: 'hidden', principal: 'User:ANONYMOUS', host: '*', operation: 8 }
  const denied = await toA.send<CreateAclsResponse>(
    ApiKey.CreateAcls,
    3,
    createCreateAclsRequest({ creations: [{ ...acl, resourcePatternType: 3, permissionType: 2 }] }),
  )
  assert.equal(denied.results[0]?.errorCode, ErrorCode.NONE)
  await waitUntil('broker B to hide the denied topic', async () => (await topicsSeenByB()).join() === 'open', wait)

  const deleted = await toA.send<DeleteAclsResponse>(
    ApiKey.DeleteAcls,
    3,
    createDeleteAclsRequest({
      filters: [
        {
          resourceTypeFilter: 2,
          resourceNameFilter: 'hidden',
          patternTypeFilter: 3,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        },
      ],
    }),
  )
  assert.equal(deleted.filterResults[0]?.matchingAcls.length, 1)
  await waitUntil('broker B to show the topic again', async () => (await topicsSeenByB()).length === 2, wait)
})
