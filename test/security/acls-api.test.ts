/**
 * CreateAcls, DescribeAcls and DeleteAcls: with kafkajs' and @platformatic/kafka's admin clients
 * as a super user over SASL PLAIN; every version through the raw client; Kafka's refusals
 * (CLUSTER_AUTHORIZATION_FAILED without ALTER/DESCRIBE on the cluster, INVALID_REQUEST for
 * UNKNOWN filter fields and invalid creations, SECURITY_DISABLED without an authorizer); ACLs
 * survive a restart of a broker on the local engine.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type CreateAclsResponse, createCreateAclsRequest } from '../../src/protocol/generated/create-acls.ts'
import { createDeleteAclsRequest, type DeleteAclsResponse } from '../../src/protocol/generated/delete-acls.ts'
import { createDescribeAclsRequest, type DescribeAclsResponse } from '../../src/protocol/generated/describe-acls.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  AUTHORIZER,
  PLAIN_JAAS,
  portOf,
  ResourcePatternTypes,
  sasl,
} from './acl-helpers.ts'

let broker: Broker
let saslAddress: string
let plaintextPort: number

before(async () => {
  broker = await startBroker({
    config: {
      listeners: 'PLAINTEXT://localhost:0,SASL_PLAINTEXT://localhost:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      'authorizer.class.name': AUTHORIZER,
      // The raw client comes in on PLAINTEXT as User:ANONYMOUS.
      'super.users': 'User:admin;User:ANONYMOUS',
    },
  })
  saslAddress = (broker.listeners.SASL_PLAINTEXT as string[])[0] as string
  plaintextPort = portOf((broker.listeners.PLAINTEXT as string[])[0] as string)
})
after(() => broker?.close())

async function raw<T>(apiKey: number, version: number, request: unknown, port = plaintextPort): Promise<T> {
  const client = await RawClient.connect(port, 'localhost')
  try {
    return await client.send<T>(apiKey, version, request)
  } finally {
    await client.close()
  }
}

describe('ACL APIs', () => {
  test('kafkajs admin creates, describes (literal, prefixed, match) and deletes ACLs', async (t) => {
    const admin = kafkajsClient(saslAddress, { sasl: sasl('admin') }).admin()
    await admin.connect()
    t.after(() => admin.disconnect())
    const acl = (resourceName: string, resourcePatternType: number, operation: number) => ({
      resourceType: AclResourceTypes.TOPIC,
      resourceName,
      resourcePatternType,
      principal: 'User:alice',
      host: '*',
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    })
    assert.equal(
      await admin.createAcls({
        acl: [
          acl('kjs-orders', ResourcePatternTypes.LITERAL, AclOperationTypes.WRITE),
          acl('kjs-', ResourcePatternTypes.PREFIXED, AclOperationTypes.READ),
        ],
      }),
      true,
    )
    const filter = {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: 'kjs-orders',
      resourcePatternType: ResourcePatternTypes.MATCH,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    }
    const described = await admin.describeAcls(filter)
    const patterns = described.resources.map((r) => `${r.resourcePatternType}:${r.resourceName}`).sort()
    assert.deepEqual(patterns, [`${ResourcePatternTypes.LITERAL}:kjs-orders`, `${ResourcePatternTypes.PREFIXED}:kjs-`])
    const literalOnly = await admin.describeAcls({ ...filter, resourcePatternType: ResourcePatternTypes.LITERAL })
    assert.deepEqual(
      literalOnly.resources.map((r) => r.acls.map((a) => [a.principal, a.host, a.operation, a.permissionType])),
      [[['User:alice', '*', AclOperationTypes.WRITE, AclPermissionTypes.ALLOW]]],
    )
    const deleted = await admin.deleteAcls({
      filters: [{ ...filter, resourcePatternType: ResourcePatternTypes.ANY, resourceName: undefined }],
    })
    assert.equal(deleted.filterResponses[0]?.matchingAcls.length, 2)
    assert.equal((await admin.describeAcls(filter)).resources.length, 0)
  })

  test('@platformatic/kafka admin creates, describes and deletes ACLs', async (t) => {
    const pk = await platformatic()
    const admin = new pk.Admin({
      clientId: 'pk-acls',
      bootstrapBrokers: [saslAddress],
      sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' },
    })
    t.after(() => admin.close())
    const groupAcl = {
      resourceType: 3 as const,
      resourceName: 'pk-group',
      resourcePatternType: 3 as const,
      principal: 'User:bob',
      host: '*',
      operation: 3 as const,
      permissionType: 2 as const,
    }
    await admin.createAcls({ creations: [groupAcl] })
    const filter = { ...groupAcl, resourcePatternType: 1 as const, operation: 1 as const, permissionType: 1 as const }
    const resources = await admin.describeAcls({ filter })
    assert.deepEqual(
      resources.map((r) => [
        r.resourceType,
        r.resourceName,
        r.resourcePatternType,
        r.acls.map((a) => a.permissionType),
      ]),
      [[3, 'pk-group', 3, [2]]],
    )
    const deleted = await admin.deleteAcls({ filters: [filter] })
    assert.deepEqual(
      deleted.map((a) => a.principal),
      ['User:bob'],
    )
    assert.deepEqual(await admin.describeAcls({ filter }), [])
  })

  test('every version of the three APIs through the raw client', async () => {
    for (let version = 0; version <= 3; version++) {
      const name = `raw-v${version}`
      const created = await raw<CreateAclsResponse>(
        ApiKey.CreateAcls,
        version,
        createCreateAclsRequest({
          creations: [
            {
              resourceType: 2,
              resourceName: name,
              resourcePatternType: 3,
              principal: 'User:carol',
              host: '*',
              operation: 3,
              permissionType: 3,
            },
          ],
        }),
      )
      assert.deepEqual(
        created.results.map((r) => r.errorCode),
        [0],
      )
      const described = await raw<DescribeAclsResponse>(
        ApiKey.DescribeAcls,
        version,
        createDescribeAclsRequest({
          resourceTypeFilter: 2,
          resourceNameFilter: name,
          principalFilter: null,
          hostFilter: null,
          operation: 1,
          permissionType: 1,
        }),
      )
      assert.equal(described.errorCode, 0)
      assert.deepEqual(
        described.resources.map((r) => [r.resourceName, r.acls.length]),
        [[name, 1]],
      )
      const deleted = await raw<DeleteAclsResponse>(
        ApiKey.DeleteAcls,
        version,
        createDeleteAclsRequest({
          filters: [
            {
              resourceTypeFilter: 2,
              resourceNameFilter: name,
              patternTypeFilter: 3,
              principalFilter: null,
              hostFilter: null,
              operation: 1,
              permissionType: 1,
            },
          ],
        }),
      )
      assert.deepEqual(
        deleted.filterResults.map((r) => [r.errorCode, r.matchingAcls.map((a) => a.resourceName)]),
        [[0, [name]]],
      )
    }
  })

  test('invalid creations and UNKNOWN filter fields are answered INVALID_REQUEST', async () => {
    const good = {
      resourceType: 2,
      resourceName: 't',
      resourcePatternType: 3,
      principal: 'User:x',
      host: '*',
      operation: 3,
      permissionType: 3,
    }
    const created = await raw<CreateAclsResponse>(
      ApiKey.CreateAcls,
      3,
      createCreateAclsRequest({
        creations: [
          { ...good, resourceType: 1 },
          { ...good, resourcePatternType: 2 },
          { ...good, operation: 1 },
          { ...good, permissionType: 1 },
          { ...good, resourceName: '' },
          { ...good, resourceType: 4, resourceName: 'other' },
          { ...good, principal: 'alice' },
          { ...good, resourceName: 'invalid-batch-ok' },
        ],
      }),
    )
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [...Array(7).fill(ErrorCode.INVALID_REQUEST), ErrorCode.NONE],
    )
    assert.match(created.results[5]?.errorMessage ?? '', /kafka-cluster/)
    const described = await raw<DescribeAclsResponse>(
      ApiKey.DescribeAcls,
      3,
      createDescribeAclsRequest({
        resourceTypeFilter: 0,
        resourceNameFilter: null,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      }),
    )
    assert.equal(described.errorCode, ErrorCode.INVALID_REQUEST)
    const deleted = await raw<DeleteAclsResponse>(
      ApiKey.DeleteAcls,
      3,
      createDeleteAclsRequest({
        filters: [
          {
            resourceTypeFilter: 1,
            resourceNameFilter: null,
            patternTypeFilter: 1,
            principalFilter: null,
            hostFilter: null,
            operation: 0,
            permissionType: 1,
          },
          {
            resourceTypeFilter: 2,
            resourceNameFilter: 'invalid-batch-ok',
            patternTypeFilter: 1,
            principalFilter: null,
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          },
        ],
      }),
    )
    assert.deepEqual(
      deleted.filterResults.map((r) => [r.errorCode, r.matchingAcls.length]),
      [
        [ErrorCode.INVALID_REQUEST, 0],
        [0, 1],
      ],
    )
  })

  test('a principal without ALTER or DESCRIBE on the cluster is refused CLUSTER_AUTHORIZATION_FAILED', async (t) => {
    const admin = kafkajsClient(saslAddress, { sasl: sasl('alice'), retry: { retries: 0 } }).admin()
    await admin.connect()
    t.after(() => admin.disconnect())
    const filter = {
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    }
    await assert.rejects(admin.describeAcls(filter), { type: 'CLUSTER_AUTHORIZATION_FAILED' })
    await assert.rejects(
      admin.createAcls({
        acl: [
          {
            ...filter,
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'x',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            principal: 'User:alice',
            host: '*',
            operation: AclOperationTypes.ALL,
            permissionType: AclPermissionTypes.ALLOW,
          },
        ],
      }),
      { type: 'CLUSTER_AUTHORIZATION_FAILED' },
    )
    await assert.rejects(admin.deleteAcls({ filters: [filter] }), { type: 'CLUSTER_AUTHORIZATION_FAILED' })
  })
})

describe('ACL APIs without an authorizer', () => {
  test('answer SECURITY_DISABLED', async (t) => {
    const plain = await startBroker({})
    t.after(() => plain.close())
    const port = portOf((plain.listeners.PLAINTEXT as string[])[0] as string)
    const described = await raw<DescribeAclsResponse>(
      ApiKey.DescribeAcls,
      1,
      createDescribeAclsRequest({
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      }),
      port,
    )
    assert.deepEqual(
      [described.errorCode, described.errorMessage],
      [ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured.'],
    )
    const created = await raw<CreateAclsResponse>(
      ApiKey.CreateAcls,
      2,
      createCreateAclsRequest({
        creations: [
          {
            resourceType: 2,
            resourceName: 't',
            resourcePatternType: 3,
            principal: 'User:x',
            host: '*',
            operation: 3,
            permissionType: 3,
          },
        ],
      }),
      port,
    )
    assert.deepEqual(
      created.results.map((r) => r.errorCode),
      [ErrorCode.SECURITY_DISABLED],
    )
    const deleted = await raw<DeleteAclsResponse>(
      ApiKey.DeleteAcls,
      0,
      createDeleteAclsRequest({
        filters: [
          {
            resourceTypeFilter: 1,
            resourceNameFilter: null,
            patternTypeFilter: 3,
            principalFilter: null,
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          },
        ],
      }),
      port,
    )
    assert.deepEqual(
      deleted.filterResults.map((r) => r.errorCode),
      [ErrorCode.SECURITY_DISABLED],
    )
  })
})

describe('ACLs on the local engine', () => {
  test('survive a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'samsa-acls-'))
    const config = {
      'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
      'super.users': 'User:ANONYMOUS',
    }
    const first = await startBroker({ storage: 'local', dataDir: dir, config })
    try {
      const port = portOf((first.listeners.PLAINTEXT as string[])[0] as string)
      const created = await raw<CreateAclsResponse>(
        ApiKey.CreateAcls,
        3,
        createCreateAclsRequest({
          creations: [
            {
              resourceType: 5,
              resourceName: 'tx-',
              resourcePatternType: 4,
              principal: 'User:dave',
              host: '10.0.0.1',
              operation: 4,
              permissionType: 2,
            },
          ],
        }),
        port,
      )
      assert.equal(created.results[0]?.errorCode, 0)
    } finally {
      await first.close()
    }
    const second = await startBroker({ storage: 'local', dataDir: dir, config })
    t.after(async () => {
      await second.close()
      rmSync(dir, { recursive: true, force: true })
    })
    const port = portOf((second.listeners.PLAINTEXT as string[])[0] as string)
    const described = await raw<DescribeAclsResponse>(
      ApiKey.DescribeAcls,
      3,
      createDescribeAclsRequest({
        resourceTypeFilter: 1,
        resourceNameFilter: null,
        patternTypeFilter: 1,
        principalFilter: null,
        hostFilter: null,
        operation: 1,
        permissionType: 1,
      }),
      port,
    )
    assert.deepEqual(described.resources, [
      {
        resourceType: 5,
        resourceName: 'tx-',
        patternType: 4,
        acls: [{ principal: 'User:dave', host: '10.0.0.1', operation: 4, permissionType: 2 }],
      },
    ])
  })
})
