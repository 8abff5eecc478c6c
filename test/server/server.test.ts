import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createListOffsetsPartition,
  createListOffsetsRequest,
  type ListOffsetsResponse,
} from '../../src/protocol/generated/list-offsets.ts'
import { createProduceRequest, createTopicProduceData } from '../../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { RawClient } from '../helpers/raw-client.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

/** Resolves when the socket is closed by the peer, or 'open' if it stays open for `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), ms)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
    socket.on('error', () => undefined)
  })
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s))
    s.once('error', reject)
  })
}

/** A frame with the given header fields and body bytes, length prefix included. */
function frame(apiKey: number, version: number, correlationId: number, body = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(10)
  header.writeInt16BE(apiKey, 0)
  header.writeInt16BE(version, 2)
  header.writeInt32BE(correlationId, 4)
  header.writeInt16BE(-1, 8)
  const size = Buffer.alloc(4)
  size.writeInt32BE(header.length + body.length)
  return Buffer.concat([size, header, body])
}

function produceRequest(acks: number, value: string) {
  const records = encodeBatchSync({
    baseOffset: 0,
    records: [{ key: null, value: Buffer.from(value), timestamp: BigInt(Date.now()) }],
  })
  return createProduceRequest({
    acks,
    timeoutMs: 1000,
    topicData: [createTopicProduceData({ name: 'server', partitionData: [{ index: 0, records }] })],
  })
}

async function highWatermark(client: RawClient): Promise<bigint | undefined> {
  const res = await client.send<ListOffsetsResponse>(
    ApiKey.ListOffsets,
    7,
    createListOffsetsRequest({
      topics: [{ name: 'server', partitions: [createListOffsetsPartition({ timestamp: -1n })] }],
    }),
  )
  return res.topics[0]?.partitions[0]?.offset
}

describe('server', () => {
  let broker: Broker

  before(async () => {
    broker = await startBroker({ config: { 'socket.request.max.bytes': '100000', 'max.connections': '50' } })
    await broker.core.topics.create('server', 1, {})
  })
  after(() => broker.close())

  test('responses come back in request order even when handlers finish out of order', async () => {
    const client = await RawClient.connect(broker.port)
    const order: string[] = []
    const fetch = client
      .send<FetchResponse>(
        ApiKey.Fetch,
        12,
        createFetchRequest({
          maxWaitMs: 300,
          minBytes: 1,
          maxBytes: 1 << 20,
          sessionEpoch: -1,
          topics: [
            createFetchTopic({
              topic: 'server',
              partitions: [createFetchPartition({ fetchOffset: 1000n, partitionMaxBytes: 1 << 20 })],
            }),
          ],
        }),
      )
      .then((r) => order.push(`fetch:${r.responses[0]?.partitions[0]?.errorCode}`))
    const versions = client
      .send<ApiVersionsResponse>(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      .then(() => order.push('apiVersions'))
    await Promise.all([fetch, versions])
    assert.deepEqual(order, [`fetch:${ErrorCode.OFFSET_OUT_OF_RANGE}`, 'apiVersions'])
    await client.close()
  })

  test('acks=0 produce gets no response but is applied before the next request on the connection', async () => {
    const client = await RawClient.connect(broker.port)
    const start = (await highWatermark(client)) ?? -1n
    client.sendOneWay(ApiKey.Produce, 9, produceRequest(0, 'fire and forget'))
    client.sendOneWay(ApiKey.Produce, 9, produceRequest(0, 'and again'))
    assert.equal(await highWatermark(client), start + 2n)
    await client.close()
  })

  test('ApiVersions in an unknown version answers UNSUPPORTED_VERSION in v0 with the supported list', async () => {
    const client = await RawClient.connect(broker.port)
    const res = await client.send<ApiVersionsResponse>(ApiKey.ApiVersions, 0, {}, { headerVersion: 99 })
    assert.equal(res.errorCode, ErrorCode.UNSUPPORTED_VERSION)
    assert.deepEqual(
      res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions),
      { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 5 },
    )
    await client.close()
  })

  for (const [what, bytes] of [
    ['a frame above socket.request.max.bytes', Buffer.from([0, 2, 0, 0, 1, 2, 3])],
    ['a negative frame size', Buffer.from([0xff, 0xff, 0xff, 0xfe])],
    ['an unknown API key', frame(999, 0, 1)],
    ['a version above the supported range', frame(ApiKey.Metadata, 99, 1)],
    ['a truncated request body', frame(ApiKey.Metadata, 1, 1, Buffer.from([0, 0, 0, 5, 0]))],
    ['random bytes', Buffer.from('00000010deadbeefdeadbeefdeadbeefdeadbeef', 'hex')],
  ] as const) {
    test(`${what} closes that connection only`, async () => {
      const bad = await rawSocket(broker.port)
      const closed = closedWithin(bad, 2000)
      bad.write(bytes)
      assert.equal(await closed, 'closed')
      const good = await RawClient.connect(broker.port)
      const res = await good.send<ApiVersionsResponse>(ApiKey.ApiVersions, 0, {})
      assert.equal(res.errorCode, 0)
      await good.close()
    })
  }

  test('garbage on many connections does not disturb a kafkajs producer', async () => {
    const producer = kafkajsClient(broker.bootstrap).producer()
    await producer.connect()
    let stop = false
    let sent = 0
    const loop = (async () => {
      while (!stop) {
        await producer.send({ topic: 'server', messages: [{ value: `v${sent}` }] })
        sent++
      }
    })()
    for (let i = 0; i < 50; i++) {
      const s = await rawSocket(broker.port)
      const closed = closedWithin(s, 2000)
      const junk = Buffer.alloc(64 + i * 13)
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 7 + i * 31) & 0xff
      junk.writeInt32BE(junk.length - 4 + (i % 3 === 0 ? 10_000_000 : 0), 0)
      s.write(junk)
      if (i % 3 === 0) assert.equal(await closed, 'closed')
      else s.destroy()
    }
    const before = sent
    await new Promise((r) => setTimeout(r, 200))
    stop = true
    await loop
    assert.ok(sent > before, 'the producer kept producing')
    await producer.disconnect()
  })

  test('close() answers the requests already read, a pending long poll at once, before closing connections', async () => {
    const own = await startBroker()
    await own.core.topics.create('t', 1, {})
    const client = await RawClient.connect(own.port)
    const pending = client.send<FetchResponse>(
      ApiKey.Fetch,
      4,
      createFetchRequest({
        maxWaitMs: 30_000,
        minBytes: 1,
        maxBytes: 1 << 20,
        topics: [
          createFetchTopic({
            topic: 't',
            partitions: [createFetchPartition({ fetchOffset: 0n, partitionMaxBytes: 1 << 20 })],
          }),
        ],
      }),
    )
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    await own.close()
    const res = await pending
    assert.ok(Date.now() - started < 2000, `close took ${Date.now() - started} ms`)
    assert.equal(res.responses[0]?.partitions[0]?.errorCode, ErrorCode.NONE)
    await client.close()
  })

  const tool = fileURLToPath(new URL('../../../../shared/tools/api-coverage.py', import.meta.url))
  const python = spawnSync('python3', ['--version']).status === 0
  test('the shared API coverage tool finds no problem', {
    skip: python && existsSync(tool) ? false : 'python3 or ../shared/tools/api-coverage.py is not available',
  }, async () => {
    const { execFile } = await import('node:child_process')
    const out = await new Promise<string>((resolve, reject) =>
      execFile('python3', [tool, `127.0.0.1:${broker.port}`], (err, stdout) =>
        err ? reject(new Error(stdout)) : resolve(stdout),
      ),
    )
    assert.match(out, /; 0 problems/)
  })
})
