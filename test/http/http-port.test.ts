/**
 * The broker's HTTP port, asked with real HTTP requests after real client traffic: health checks
 * (readiness follows a failing disk and comes back with it), and every /metrics family with the
 * values the traffic implies (bytes in equal to the bytes stored, lag equal to produced minus
 * committed). Also `samsa broker --http-port` through the CLI binary.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { systemError } from '../../src/storage/local/faults.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { spawnBroker } from '../helpers/broker-process.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { tempDir } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const fault: { write: string | null } = { write: null }
let broker: Broker
let removeDir: () => Promise<void>

before(async () => {
  const dir = await tempDir('samsa-http-')
  removeDir = dir.remove
  broker = await startBroker({
    storage: 'local',
    dataDir: dir.path,
    httpPort: 0,
    storageFaults: {
      beforeWrite: () => {
        if (fault.write !== null) throw systemError(fault.write)
      },
    },
  })
})

after(async () => {
  await broker?.close()
  await removeDir?.()
})

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://localhost:${broker.httpPort}${path}`, { headers })
}

/** The samples of /metrics (Prometheus text), as `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await get('/metrics')
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const out = new Map<string, number>()
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    out.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return out
}

/** The sum of the samples of `name` whose labels include every `labels` pair. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string | number> = {}): number {
  let total = 0
  for (const [key, value] of samples) {
    if (!key.startsWith(`${name}{`) && key !== name) continue
    if (Object.entries(labels).every(([k, v]) => key.includes(`${k}="${v}"`))) total += value
  }
  return total
}

async function produceRaw(topic: string, value: string): Promise<number> {
  const raw = await RawClient.connect(broker.port)
  try {
    const records = encodeBatchSync({
      records: [{ key: null, value: Buffer.from(value), timestamp: BigInt(Date.now()) }],
    })
    const res = await raw.send<ProduceResponse>(
      ApiKey.Produce,
      7,
      createProduceRequest({
        acks: 1,
        timeoutMs: 5000,
        topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
      }),
    )
    return res.responses[0]?.partitionResponses[0]?.errorCode ?? -2
  } finally {
    await raw.close()
  }
}

describe('health checks', () => {
  it('/health/live answers while the process runs', async () => {
    const res = await get('/health/live')
    assert.equal(res.status, 200)
    assert.equal(((await res.json()) as { status: string }).status, 'live')
  })

  it('/health/ready is 503 while the disk fails, with the reason, and 200 once writes succeed again', async () => {
    const ready = await get('/health/ready')
    assert.equal(ready.status, 200)
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> }
    assert.equal(body.status, 'ready')
    assert.equal(body.checks.storage?.ok, true)
    assert.equal(body.checks.listener?.ok, true)

    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'health' }] })
    await admin.disconnect()
    fault.write = 'EIO'
    assert.equal(await produceRaw('health', 'lost'), ErrorCode.KAFKA_STORAGE_ERROR)
    const failing = await get('/health/ready')
    assert.equal(failing.status, 503)
    const why = (await failing.json()) as { status: string; checks: { storage: { ok: boolean; error: string } } }
    assert.equal(why.status, 'not ready')
    assert.equal(why.checks.storage.ok, false)
    assert.match(why.checks.storage.error, /append to .* failed/)

    fault.write = null
    assert.equal(await produceRaw('health', 'kept'), ErrorCode.NONE)
    assert.equal((await get('/health/ready')).status, 200)
  })
})

describe('/metrics after kafkajs traffic', () => {
  const topic = 'metered'
  const messages = Array.from({ length: 20 }, (_, i) => ({ key: `k${i % 4}`, value: `value-${i}`.repeat(i + 1) }))

  before(async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    const producer = kafka.producer()
    await producer.connect()
    for (let i = 0; i < messages.length; i += 5) await producer.send({ topic, messages: messages.slice(i, i + 5) })
    await producer.disconnect()
    // A group that committed 3 records of partition 0 and nothing else.
    await admin.setOffsets({ groupId: 'behind', topic, partitions: [{ partition: 0, offset: '3' }] })
    await admin.disconnect()
  })

  it('counts bytes and records in per topic as stored, and requests per API and version', async () => {
    const samples = await scrape()
    const stored =
      (await broker.core.storage.partitionSize(topic, 0)) + (await broker.core.storage.partitionSize(topic, 1))
    assert.equal(sum(samples, 'samsa_topic_bytes_in_total', { topic }), stored)
    assert.equal(sum(samples, 'samsa_topic_records_in_total', { topic }), messages.length)
    const hw = sum(samples, 'samsa_partition_high_watermark', { topic })
    assert.equal(hw, messages.length)
    assert.equal(sum(samples, 'samsa_partition_last_stable_offset', { topic }), messages.length)
    assert.equal(sum(samples, 'samsa_partition_log_start_offset', { topic }), 0)
    // Four sends of five records, in one request each (one partition leader).
    assert.ok(sum(samples, 'samsa_requests_total', { api: 'Produce' }) >= 4)
    assert.ok(sum(samples, 'samsa_requests_total', { api: 'ApiVersions' }) >= 1)
    for (const h of ['request_queue_time', 'request_handling_time', 'response_queue_time', 'response_send_time']) {
      const count = sum(samples, `samsa_${h}_seconds_count`, { api: 'Produce' })
      assert.equal(count, sum(samples, 'samsa_requests_total', { api: 'Produce' }), h)
      assert.equal(sum(samples, `samsa_${h}_seconds_bucket`, { api: 'Produce', le: '+Inf' }), count)
    }
    assert.ok(sum(samples, 'samsa_network_bytes_in_total', { listener: 'PLAINTEXT' }) > stored)
    assert.ok(sum(samples, 'samsa_network_bytes_out_total', { listener: 'PLAINTEXT' }) > 0)
    assert.ok(sum(samples, 'samsa_connections_created_total') >= 1)
    assert.equal(sum(samples, 'samsa_requests_in_flight'), 0)
    // prom-client's process metrics.
    assert.ok(samples.has('process_resident_memory_bytes'))
    assert.ok(samples.has('nodejs_eventloop_lag_seconds'))
  })

  it('counts errors by API and error code', async () => {
    const earlier = sum(await scrape(), 'samsa_request_errors_total', {
      api: 'Produce',
      error: 'UNKNOWN_TOPIC_OR_PARTITION',
    })
    // A partition past the topic's count (an unknown topic would be created).
    const raw = await RawClient.connect(broker.port)
    const records = encodeBatchSync({
      records: [{ key: null, value: Buffer.from('x'), timestamp: BigInt(Date.now()) }],
    })
    const res = await raw.send<ProduceResponse>(
      ApiKey.Produce,
      7,
      createProduceRequest({
        acks: 1,
        timeoutMs: 5000,
        topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 9, records }] })],
      }),
    )
    await raw.close()
    assert.equal(res.responses[0]?.partitionResponses[0]?.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    const later = sum(await scrape(), 'samsa_request_errors_total', {
      api: 'Produce',
      error: 'UNKNOWN_TOPIC_OR_PARTITION',
    })
    assert.equal(later, earlier + 1)
  })

  it('reports lag as produced minus committed, group state and members, and bytes out', async () => {
    const kafka = kafkajsClient(broker.bootstrap)
    const consumer = kafka.consumer({ groupId: 'readers', heartbeatInterval: 500 })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    let seen = 0
    await consumer.run({
      eachMessage: async () => {
        seen++
      },
    })
    try {
      const p0 = Number((await broker.core.storage.offsets(topic, 0)).highWatermark)
      let samples = new Map<string, number>()
      await waitUntil(
        'the consumer group committed everything',
        async () => {
          samples = await scrape()
          return (
            seen === messages.length &&
            samples.get(`samsa_consumer_group_lag{group="readers",topic="${topic}",partition="0"}`) === 0 &&
            samples.get(`samsa_consumer_group_lag{group="readers",topic="${topic}",partition="1"}`) === 0
          )
        },
        { timeoutMs: 30_000 },
      )
      assert.equal(samples.get('samsa_consumer_group_members{group="readers"}'), 1)
      assert.equal(samples.get('samsa_consumer_group_state{group="readers",state="Stable"}'), 1)
      assert.equal(samples.get(`samsa_consumer_group_lag{group="behind",topic="${topic}",partition="0"}`), p0 - 3)
      assert.equal(samples.get('samsa_consumer_group_members{group="behind"}'), 0)
      // Every record was fetched at least once, in the batches it was stored in.
      assert.ok(sum(samples, 'samsa_topic_records_out_total', { topic }) >= messages.length)
      assert.ok(
        sum(samples, 'samsa_topic_bytes_out_total', { topic }) >= sum(samples, 'samsa_topic_bytes_in_total', { topic }),
      )
      assert.ok(sum(samples, 'samsa_requests_total', { api: 'Fetch' }) >= 1)
      assert.ok(sum(samples, 'samsa_requests_total', { api: 'JoinGroup' }) >= 1)
    } finally {
      await consumer.disconnect()
    }
  })

  it('counts kcat traffic too', { skip: hasKcat ? false : KCAT_MISSING }, async () => {
    const lines = Array.from({ length: 7 }, (_, i) => `kcat-${i}`)
    await kcat(['-P', '-b', broker.bootstrap, '-t', 'from-kcat', '-p', '0'], `${lines.join('\n')}\n`)
    const out = await kcat(['-C', '-b', broker.bootstrap, '-t', 'from-kcat', '-o', 'beginning', '-e', '-q'])
    assert.equal(out.trim().split('\n').length, lines.length)
    const samples = await scrape()
    assert.equal(sum(samples, 'samsa_topic_records_in_total', { topic: 'from-kcat' }), lines.length)
    assert.equal(
      sum(samples, 'samsa_topic_bytes_in_total', { topic: 'from-kcat' }),
      await broker.core.storage.partitionSize('from-kcat', 0),
    )
    assert.equal(sum(samples, 'samsa_topic_records_out_total', { topic: 'from-kcat' }), lines.length)
  })

  it('answers OpenMetrics when the Accept header asks for it, and Prometheus text after', async () => {
    const res = await get('/metrics', { accept: 'application/openmetrics-text; version=1.0.0' })
    assert.match(res.headers.get('content-type') ?? '', /^application\/openmetrics-text/)
    const text = await res.text()
    assert.ok(text.endsWith('# EOF\n'))
    assert.match(text, /^# TYPE samsa_requests counter$/m)
    assert.match(text, /^samsa_requests_total\{api="Produce",version="\d+"\} \d+$/m)
    // Rendering OpenMetrics leaves the counters' names alone for the next Prometheus scrape.
    assert.ok((await scrape()).has('samsa_requests_total{api="Produce",version="7"}'))
  })
})

describe('readiness on the postgres engine', () => {
  it('is 503 while the database is cut off and 200 once it is back', async (t) => {
    if (!(await hasPostgres())) return t.skip(POSTGRES_MISSING)
    const direct = new URL(await freshDatabase())
    const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) })
    const viaProxy = new URL(direct)
    viaProxy.port = String(proxy.port)
    const pg = await startBroker({ storage: viaProxy.toString() as `postgres://${string}`, httpPort: 0 })
    const ready = async (): Promise<{
      status: number
      body: { checks: { storage: { ok: boolean; error?: string } } }
    }> => {
      const res = await fetch(`http://localhost:${pg.httpPort}/health/ready`)
      return {
        status: res.status,
        body: (await res.json()) as { checks: { storage: { ok: boolean; error?: string } } },
      }
    }
    try {
      assert.equal((await ready()).status, 200)
      proxy.cut()
      // The connection the engine listens for changes on drops at once; heartbeats fail next.
      await waitUntil('not ready', async () => (await ready()).status === 503, { timeoutMs: 15_000 })
      const down = await ready()
      assert.equal(down.body.checks.storage.ok, false)
      assert.ok(down.body.checks.storage.error)
      proxy.restore()
      await waitUntil('ready again', async () => (await ready()).status === 200, { timeoutMs: 30_000 })
    } finally {
      proxy.restore()
      await pg.close()
      await proxy.close()
    }
  })
})

describe('cardinality', () => {
  it('reports at most samsa.metrics.partition.limit partitions and counts the others', async () => {
    const small = await startBroker({ httpPort: 0, config: { 'samsa.metrics.partition.limit': '2' } })
    try {
      const admin = kafkajsClient(small.bootstrap).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic: 'wide', numPartitions: 5 }] })
      await admin.disconnect()
      const text = await (await fetch(`http://localhost:${small.httpPort}/metrics`)).text()
      assert.equal(text.match(/^samsa_partition_high_watermark\{/gm)?.length, 2)
      assert.match(text, /^samsa_metrics_partitions_omitted 3$/m)
    } finally {
      await small.close()
    }
  })
})

describe('samsa broker --http-port', () => {
  it('serves health and metrics on the port it logs', async () => {
    const dir = await tempDir('samsa-http-cli-')
    const child = await spawnBroker(dir.path, ['--memory', '--http-port', '0'])
    try {
      const port = /samsa HTTP port listening on \*:(\d+) \(every interface\)/.exec(child.output())?.[1]
      assert.ok(port, child.output())
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`)
      assert.equal(ready.status, 200)
      const metrics = await (await fetch(`http://[::1]:${port}/metrics`)).text()
      assert.match(metrics, /^samsa_connections\{listener="PLAINTEXT"\} 0$/m)
    } finally {
      assert.equal(await child.stop(), 0)
      await dir.remove()
    }
  })

  it('refuses a port that is not a number (exit code 2)', async () => {
    const dir = await tempDir('samsa-http-cli-')
    try {
      await assert.rejects(spawnBroker(dir.path, ['--memory', '--http-port', 'web']), /exited with 2/)
    } finally {
      await dir.remove()
    }
  })
})
