/** Connection limits: connections.max.idle.ms and max.connections.per.ip. */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { RawClient } from '../helpers/raw-client.ts'

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
})
