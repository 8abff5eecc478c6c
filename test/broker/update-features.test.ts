/**
 * UpdateFeatures (KIP-584) in every version: transaction.version downgraded and upgraded between
 * 2 and 1 (v0's allow_downgrade, v1+'s upgrade types), validate_only, every refusal Kafka's
 * controller answers (INVALID_UPDATE_VERSION for the whole request), the features samsa serves at
 * one level only, CLUSTER_AUTHORIZATION_FAILED without ALTER on the cluster; ApiVersions reports
 * each change with a new finalized features epoch; the levels survive a restart (local engine)
 * and reach the other brokers sharing the store. Sent as raw requests and through
 * @platformatic/kafka's UpdateFeatures v1.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { FeatureStore } from '../../src/broker/feature-store.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createFeatureUpdateKey,
  createUpdateFeaturesRequest,
  type FeatureUpdateKey,
  type UpdateFeaturesResponse,
} from '../../src/protocol/generated/update-features.ts'
import { MemoryKeyValueStore } from '../../src/storage/memory/memory-kv.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { AUTHORIZER } from '../security/acl-helpers.ts'
import { rejectedCodes, withPltConnection } from './admin/helpers.ts'

const TV = 'transaction.version'

async function update(
  c: RawClient,
  version: number,
  updates: Partial<FeatureUpdateKey>[],
  validateOnly = false,
): Promise<UpdateFeaturesResponse> {
  return c.send<UpdateFeaturesResponse>(
    ApiKey.UpdateFeatures,
    version,
    createUpdateFeaturesRequest({ featureUpdates: updates.map((u) => createFeatureUpdateKey(u)), validateOnly }),
  )
}

/** transaction.version's finalized level (0: not reported) and the epoch, as ApiVersions v4 reports them. */
async function finalized(c: RawClient, name = TV): Promise<{ level: number; epoch: bigint }> {
  const r = await c.send<ApiVersionsResponse>(ApiKey.ApiVersions, 4, createApiVersionsRequest())
  return {
    level: r.finalizedFeatures.find((f) => f.name === name)?.maxVersionLevel ?? 0,
    epoch: r.finalizedFeaturesEpoch,
  }
}

describe('UpdateFeatures', () => {
  let broker: Broker
  let c: RawClient

  before(async () => {
    broker = await startBroker()
    c = await RawClient.connect(broker.port)
  })
  after(async () => {
    await c?.close()
    await broker?.close()
  })

  test('every version moves transaction.version down and up; ApiVersions follows with a new epoch', async () => {
    let seen = await finalized(c)
    assert.deepEqual(seen, { level: 2, epoch: 1n })
    const steps: [number, Partial<FeatureUpdateKey>][] = [
      [0, { feature: TV, maxVersionLevel: 1, allowDowngrade: true }],
      [0, { feature: TV, maxVersionLevel: 2 }],
      [1, { feature: TV, maxVersionLevel: 1, upgradeType: 2 }],
      [1, { feature: TV, maxVersionLevel: 2, upgradeType: 1 }],
      [2, { feature: TV, maxVersionLevel: 1, upgradeType: 3 }],
      [2, { feature: TV, maxVersionLevel: 0, upgradeType: 2 }],
      [2, { feature: TV, maxVersionLevel: 2 }],
    ]
    for (const [version, u] of steps) {
      const r = await update(c, version, [u])
      assert.deepEqual([r.errorCode, r.errorMessage], [0, null], `v${version} ${JSON.stringify(u)}`)
      assert.deepEqual(
        r.results.map((x) => [x.feature, x.errorCode]),
        version <= 1 ? [[TV, 0]] : [],
        'v0-1 list each feature, v2 does not',
      )
      const now = await finalized(c)
      assert.deepEqual(now, { level: u.maxVersionLevel, epoch: seen.epoch + 1n })
      seen = now
    }
    // The same level again changes nothing, and the epoch stays.
    assert.equal((await update(c, 2, [{ feature: TV, maxVersionLevel: 2 }])).errorCode, 0)
    assert.deepEqual(await finalized(c), seen)
  })

  test('validate_only checks without changing', async () => {
    const before = await finalized(c)
    const ok = await update(c, 1, [{ feature: TV, maxVersionLevel: 1, upgradeType: 2 }], true)
    assert.equal(ok.errorCode, 0)
    assert.deepEqual(await finalized(c), before)
    const refused = await update(c, 2, [{ feature: TV, maxVersionLevel: 3 }], true)
    assert.equal(refused.errorCode, ErrorCode.INVALID_UPDATE_VERSION)
  })

  test("each refusal is Kafka's INVALID_UPDATE_VERSION for the whole request, and nothing changes", async () => {
    const before = await finalized(c)
    const refusals: [string, number, Partial<FeatureUpdateKey>[]][] = [
      ['an unknown feature', 2, [{ feature: 'no.such.version', maxVersionLevel: 1 }]],
      ['a level above the supported range', 2, [{ feature: TV, maxVersionLevel: 3 }]],
      ['a negative level', 2, [{ feature: TV, maxVersionLevel: -1, upgradeType: 3 }]],
      ['a lower level as an upgrade', 2, [{ feature: TV, maxVersionLevel: 1, upgradeType: 1 }]],
      ['a lower level without allow_downgrade (v0)', 0, [{ feature: TV, maxVersionLevel: 1 }]],
      ['an unknown upgrade type', 1, [{ feature: TV, maxVersionLevel: 1, upgradeType: 4 }]],
      [
        'group.version off (KIP-848 groups are always served)',
        2,
        [{ feature: 'group.version', maxVersionLevel: 0, upgradeType: 2 }],
      ],
      ['share.version off', 1, [{ feature: 'share.version', maxVersionLevel: 0, upgradeType: 2 }]],
      [
        'one bad update among good ones',
        1,
        [
          { feature: TV, maxVersionLevel: 1, upgradeType: 2 },
          { feature: 'group.version', maxVersionLevel: 2 },
        ],
      ],
    ]
    for (const [why, version, updates] of refusals) {
      const r = await update(c, version, updates)
      assert.equal(r.errorCode, ErrorCode.INVALID_UPDATE_VERSION, why)
      assert.match(r.errorMessage ?? '', /failed for every feature/, why)
      assert.deepEqual(r.results, [], why)
    }
    // A raise with a downgrade type needs a lower level first.
    assert.equal((await update(c, 1, [{ feature: TV, maxVersionLevel: 1, upgradeType: 2 }])).errorCode, 0)
    const raised = await update(c, 1, [{ feature: TV, maxVersionLevel: 2, upgradeType: 2 }])
    assert.equal(raised.errorCode, ErrorCode.INVALID_UPDATE_VERSION)
    assert.equal((await update(c, 1, [{ feature: TV, maxVersionLevel: 2, upgradeType: 1 }])).errorCode, 0)
    // The level samsa serves a fixed feature at is accepted as it is.
    assert.equal((await update(c, 2, [{ feature: 'group.version', maxVersionLevel: 1 }])).errorCode, 0)
    assert.equal((await finalized(c)).level, before.level)
    assert.equal((await finalized(c, 'group.version')).level, 1)
  })

  test('@platformatic/kafka sends it (v1): a downgrade, then a refusal', async () => {
    const before = await finalized(c)
    await withPltConnection(broker, (conn, plt) =>
      plt.updateFeaturesV1.api.async(conn, 30_000, [{ feature: TV, maxVersionLevel: 1, upgradeType: 2 }], false),
    )
    assert.deepEqual(await finalized(c), { level: 1, epoch: before.epoch + 1n })
    const codes = await rejectedCodes(() =>
      withPltConnection(broker, (conn, plt) =>
        plt.updateFeaturesV1.api.async(conn, 30_000, [{ feature: TV, maxVersionLevel: 9, upgradeType: 1 }], false),
      ),
    )
    assert.deepEqual(codes, [ErrorCode.INVALID_UPDATE_VERSION])
    await withPltConnection(broker, (conn, plt) =>
      plt.updateFeaturesV1.api.async(conn, 30_000, [{ feature: TV, maxVersionLevel: 2, upgradeType: 1 }], false),
    )
    assert.equal((await finalized(c)).level, 2)
  })
})

test('UpdateFeatures needs ALTER on the cluster', async (t) => {
  const broker = await startBroker({ config: { 'authorizer.class.name': AUTHORIZER } })
  t.after(() => broker.close())
  const c = await RawClient.connect(broker.port)
  t.after(() => c.close())
  for (const version of [0, 1, 2]) {
    const downgrade = version === 0 ? { allowDowngrade: true } : { upgradeType: 2 }
    const r = await update(c, version, [{ feature: TV, maxVersionLevel: 1, ...downgrade }])
    assert.equal(r.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, `v${version}`)
    assert.deepEqual(r.results, [])
  }
  assert.equal((await finalized(c)).level, 2)
})

test('the finalized levels survive a restart (local engine)', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'samsa-features-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  let broker = await startBroker({ storage: 'local', dataDir })
  let c = await RawClient.connect(broker.port)
  try {
    assert.equal((await update(c, 2, [{ feature: TV, maxVersionLevel: 1, upgradeType: 2 }])).errorCode, 0)
  } finally {
    await c.close()
    await broker.close()
  }
  broker = await startBroker({ storage: 'local', dataDir })
  c = await RawClient.connect(broker.port)
  try {
    assert.deepEqual(await finalized(c), { level: 1, epoch: 2n })
  } finally {
    await c.close()
    await broker.close()
  }
})

test('a change made through one broker reaches another sharing the store', async (t) => {
  const kv = new MemoryKeyValueStore()
  const log = pino({ level: 'silent' })
  const a = new FeatureStore({ kv, shared: true, log })
  const b = new FeatureStore({ kv, shared: true, log })
  await a.load()
  await b.load()
  t.after(() => {
    a.close()
    b.close()
  })
  assert.equal(await a.update(new Map([[TV, 1]])), true)
  await waitUntil('the other broker sees transaction.version 1', () => b.level(TV) === 1 && b.epoch === 2n)
  // A change decided over levels another broker has changed since is refused, then possible.
  assert.equal(await b.update(new Map([[TV, 2]])), true)
  assert.equal(await a.update(new Map([[TV, 0]])), false)
  assert.deepEqual([a.level(TV), a.epoch], [2, 3n])
  assert.equal(await a.update(new Map([[TV, 0]])), true)
  assert.deepEqual([a.level(TV), a.epoch], [0, 4n])
})
