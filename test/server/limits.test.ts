/** Connection limits: connections.max.idle.ms, max.connections.per.ip, and the memory a slow reader holds. */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  createFetchPartition,
  createFetchRequest,
  createFetchTopic,
  type FetchRequest,
  type FetchResponse,
} from '../../src/protocol/generated/fetch.ts'
import { API_DESCRIPTORS, ApiKey } from '../../src/protocol/generated/index.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { validateBatches } from '../../src/protocol/records/batch-validate.ts'
import { RecordsError } from '../../src/protocol/records/errors.ts'
import { encodeFrame, RawClient } from '../helpers/raw-client.ts'

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' }, () => resolve(s))
    s.once('error', reject)
  })
}

/** Resolves 'closed' when the peer closes the socket, or 'open' if it stays open for `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve('closed')
    const timer = setTimeout(() => resolve('open'), ms)
    socket.on('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
    socket.on('error', () => undefined)
  })
}

describe('connection limits', () => {
  it('closes connections idle for connections.max.idle.ms, not busy ones', async () => {
    const broker = await startBroker({ config: { 'connections.max.idle.ms': '300' } })
    try {
      const idle = await rawSocket(broker.port)
      const busy = await RawClient.connect(broker.port)
      const started = Date.now()
      let busyAlive = true
      busy.send(ApiKey.ApiVersions, 3, createApiVersionsRequest()).catch(() => {
        busyAlive = false
      })
      const keepBusy = setInterval(() => {
        busy.send(ApiKey.ApiVersions, 3, createApiVersionsRequest()).catch(() => {
          busyAlive = false
        })
      }, 100)
      assert.equal(await closedWithin(idle, 3000), 'closed')
      const elapsed = Date.now() - started
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms`)
      await new Promise((r) => setTimeout(r, 500))
      clearInterval(keepBusy)
      assert.ok(busyAlive, 'a connection in use stays open')
      await busy.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      await busy.close()
    } finally {
      await broker.close()
    }
  })

  it('refuses connections beyond max.connections.per.ip', async () => {
    const broker = await startBroker({ config: { 'max.connections.per.ip': '2' } })
    try {
      const a = await RawClient.connect(broker.port)
      const b = await RawClient.connect(broker.port)
      await a.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      await b.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      const third = await rawSocket(broker.port)
      assert.equal(await closedWithin(third, 2000), 'closed')
      await a.close()
      // The slot frees once the broker sees the close.
      let again: RawClient | undefined
      for (let i = 0; i < 50 && again === undefined; i++) {
        const c = await RawClient.connect(broker.port)
        try {
          await c.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
          again = c
        } catch {
          await new Promise((r) => setTimeout(r, 20))
        }
      }
      assert.ok(again, 'a new connection is accepted after one closed')
      await again.close()
      await b.close()
    } finally {
      await broker.close()
    }
  })

  it('holds a bounded amount of unsent responses for a client that pipelines fetches and does not read', async () => {
    const broker = await startBroker()
    try {
      await broker.core.topics.create('big', 1, {})
      const batch = encodeBatchSync({ records: [{ key: null, value: Buffer.alloc(MiB, 0x61), timestamp: 1 }] })
      const infos = validateBatches(batch)
      if (infos instanceof RecordsError) throw infos
      await broker.core.storage.append('big', 0, { data: batch, batches: infos }, { durable: false, leaderEpoch: 0 })
      // 100 fetches answered with 1 MiB each, sent in one write: 100 MiB if nothing held them back.
      const count = 100
      const frames = Buffer.concat(Array.from({ length: count }, (_, i) => fetchFrame('big', i + 1, {})))
      const slow = await rawSocket(broker.port)
      slow.pause()
      slow.write(frames)
      let most = 0
      const sampler = setInterval(() => {
        most = Math.max(most, ...broker.unsentResponseBytes())
      }, 2)
      await new Promise((r) => setTimeout(r, 1000))
      const other = await RawClient.connect(broker.port)
      await other.send(ApiKey.ApiVersions, 3, createApiVersionsRequest())
      await other.close()
      clearInterval(sampler)
      assert.ok(most > MiB, 'the slow client’s responses did pile up')
      assert.ok(most < 8 * MiB, `${(most / MiB).toFixed(1)} MiB held for one connection`)
      assert.equal(await responsesRead(slow, count), count, 'every fetch is answered once the client reads')
      slow.destroy()
    } finally {
      await broker.close()
    }
  })

  it('dispatches at most queued.max.requests requests of one connection at a time', async () => {
    let running = 0
    let most = 0
    let seen = 0
    const broker = await startBroker({
      config: { 'queued.max.requests': '3' },
      async dispatchHook(call) {
        seen++
        most = Math.max(most, ++running)
        // Slow answers: every request the connection read would be running together without the limit.
        await new Promise((r) => setTimeout(r, 5))
        running--
        return call.next()
      },
    })
    try {
      const api = API_DESCRIPTORS.find((d) => d.apiKey === ApiKey.ApiVersions)
      assert.ok(api)
      const count = 40
      // One write: the broker reads every frame in one chunk, before answering any.
      const frames = Buffer.concat(
        Array.from({ length: count }, (_, i) => encodeFrame(api, 3, createApiVersionsRequest(), i + 1)),
      )
      const socket = await rawSocket(broker.port)
      socket.write(frames)
      assert.equal(await responsesRead(socket, count), count)
      socket.destroy()
      assert.equal(seen, count)
      assert.equal(most, 3)
    } finally {
      await broker.close()
    }
  })

  it('keeps at most max.incremental.fetch.session.cache.slots fetch sessions', async () => {
    const broker = await startBroker({ config: { 'max.incremental.fetch.session.cache.slots': '3' } })
    try {
      await broker.core.topics.create('s', 1, {})
      const client = await RawClient.connect(broker.port)
      const ids = new Set<number>()
      for (let i = 0; i < 10; i++) {
        const res = await client.send<FetchResponse>(ApiKey.Fetch, 12, fetchRequest('s', { sessionEpoch: 0 }))
        assert.equal(res.errorCode, ErrorCode.NONE)
        ids.add(res.sessionId)
      }
      assert.equal(ids.size, 10, 'each full fetch opened a session')
      assert.equal(broker.core.fetchSessions.size, 3)
      await client.close()
    } finally {
      await broker.close()
    }
  })
})

const MiB = 1024 * 1024

function fetchRequest(topic: string, init: Partial<FetchRequest>): FetchRequest {
  return createFetchRequest({
    maxWaitMs: 0,
    maxBytes: 2 * MiB,
    topics: [
      createFetchTopic({ topic, partitions: [createFetchPartition({ partition: 0, partitionMaxBytes: 2 * MiB })] }),
    ],
    ...init,
  })
}

function fetchFrame(topic: string, correlationId: number, init: Partial<FetchRequest>): Buffer {
  const api = API_DESCRIPTORS.find((a) => a.apiKey === ApiKey.Fetch)
  assert.ok(api)
  return encodeFrame(api, 12, fetchRequest(topic, init), correlationId)
}

/** Reads size-prefixed responses until `expected` arrived or 10 s passed; resolves how many. */
function responsesRead(socket: Socket, expected: number): Promise<number> {
  return new Promise((resolve) => {
    let frames = 0
    const prefix = Buffer.alloc(4)
    let prefixBytes = 0
    let bodyLeft = 0
    const finish = (): void => {
      clearTimeout(timer)
      socket.off('data', onData)
      resolve(frames)
    }
    const timer = setTimeout(finish, 10_000)
    const onData = (chunk: Buffer): void => {
      let pos = 0
      while (pos < chunk.length) {
        if (bodyLeft === 0) {
          const n = chunk.copy(prefix, prefixBytes, pos, pos + 4 - prefixBytes)
          prefixBytes += n
          pos += n
          if (prefixBytes === 4) {
            bodyLeft = prefix.readInt32BE(0)
            prefixBytes = 0
          }
        } else {
          const n = Math.min(bodyLeft, chunk.length - pos)
          bodyLeft -= n
          pos += n
          if (bodyLeft === 0) frames++
        }
      }
      if (frames >= expected) finish()
    }
    socket.on('data', onData)
    socket.resume()
  })
}
