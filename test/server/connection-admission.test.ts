/**
 * The broker's connection limits as Kafka's acceptors apply them, over real sockets:
 * max.connection.creation.rate (KIP-612) broker-wide and per listener delays connections beyond
 * the rate instead of refusing them; max.connections makes a connection wait for a free slot;
 * max.connections.per.ip counts an address's connections on all listeners, and
 * max.connections.per.ip.overrides gives some addresses another limit (connections beyond it are
 * closed).
 */
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import { API_DESCRIPTORS, ApiKey } from '../../src/protocol/generated/index.ts'
import { encodeFrame } from '../helpers/raw-client.ts'

const API_VERSIONS = API_DESCRIPTORS.find((a) => a.apiKey === ApiKey.ApiVersions)
const DEADLINE_MS = 30_000

/** A connection that asked for ApiVersions: `answer` resolves when the answer came, or 'closed' if the broker closed it first. */
interface Asked {
  socket: Socket
  answer: Promise<number | 'closed'>
  answered: boolean
}

function ask(port: number, host = '127.0.0.1', localAddress?: string): Asked {
  const socket = connect({ port, host, localAddress })
  const asked: Asked = { socket, answered: false, answer: Promise.resolve('closed') }
  asked.answer = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer nor close in time')), DEADLINE_MS)
    socket.on('connect', () => socket.write(encodeFrame(API_VERSIONS as never, 3, createApiVersionsRequest(), 1)))
    socket.once('data', () => {
      clearTimeout(timer)
      asked.answered = true
      resolve(Date.now())
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve('closed')
    })
    socket.on('error', () => undefined)
  })
  return asked
}

async function withBroker(config: Record<string, string>, run: (broker: Broker) => Promise<void>): Promise<void> {
  const broker = await startBroker({ config })
  try {
    await run(broker)
  } finally {
    await broker.close()
  }
}

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

describe('connection admission', () => {
  test('max.connection.creation.rate delays connections beyond the rate instead of refusing them', async () => {
    await withBroker({ 'max.connection.creation.rate': '2', 'quota.window.num': '2' }, async (broker) => {
      const start = Date.now()
      const all = Array.from({ length: 6 }, () => ask(broker.port))
      try {
        const answers = await Promise.all(all.map((a) => a.answer))
        assert.ok(
          answers.every((a) => a !== 'closed'),
          'every connection was served',
        )
        // Two fit at once; each one after holds the listener back for its share of the rate.
        const last = Math.max(...(answers as number[])) - start
        assert.ok(last >= 1000, `the sixth connection was served after ${last} ms`)
      } finally {
        for (const a of all) a.socket.destroy()
      }
    })
  })

  test('listener.name.<listener>.max.connection.creation.rate delays that listener only', async () => {
    const config = {
      listeners: 'PLAINTEXT://127.0.0.1:0,SLOW://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SLOW:PLAINTEXT',
      'listener.name.slow.max.connection.creation.rate': '1',
      'quota.window.num': '2',
    }
    await withBroker(config, async (broker) => {
      const slowPort = portOf((broker.listeners.SLOW as string[])[0] as string)
      const plainPort = portOf((broker.listeners.PLAINTEXT as string[])[0] as string)
      const start = Date.now()
      const slow = Array.from({ length: 5 }, () => ask(slowPort))
      const plain = Array.from({ length: 5 }, () => ask(plainPort))
      try {
        const plainAnswers = await Promise.all(plain.map((a) => a.answer))
        assert.ok(
          plainAnswers.every((a) => a !== 'closed'),
          'every PLAINTEXT connection was served',
        )
        assert.ok(!slow.every((a) => a.answered), 'the SLOW listener was still holding connections back')
        const slowAnswers = await Promise.all(slow.map((a) => a.answer))
        assert.ok(
          slowAnswers.every((a) => a !== 'closed'),
          'every SLOW connection was served',
        )
        const last = Math.max(...(slowAnswers as number[])) - start
        assert.ok(last >= 2000, `the fifth SLOW connection was served after ${last} ms`)
      } finally {
        for (const a of [...slow, ...plain]) a.socket.destroy()
      }
    })
  })

  test("a listener's own limits are checked like the broker's", async () => {
    await assert.rejects(
      startBroker({ config: { 'listener.name.plaintext.max.connection.creation.rate': 'lots' } }),
      /listener\.name\.plaintext\.max\.connection\.creation\.rate: max\.connection\.creation\.rate must be an integer/,
    )
  })

  test('max.connections makes a connection wait for a free slot', async () => {
    await withBroker({ 'max.connections': '2' }, async (broker) => {
      const a = ask(broker.port)
      const b = ask(broker.port)
      let c: Asked | undefined
      try {
        assert.notEqual(await a.answer, 'closed')
        assert.notEqual(await b.answer, 'closed')
        c = ask(broker.port)
        // While a and b are open, c waits; the broker serves the others meanwhile.
        const again = encodeFrame(API_VERSIONS as never, 3, createApiVersionsRequest(), 2)
        await new Promise<void>((resolve) => {
          a.socket.once('data', () => resolve())
          a.socket.write(again)
        })
        assert.equal(c.answered, false, 'the third connection waits while two are open')
        a.socket.destroy()
        assert.notEqual(await c.answer, 'closed', 'the third connection is served once one closed')
      } finally {
        for (const s of [a, b, c]) s?.socket.destroy()
      }
    })
  })

  test("max.connections.per.ip counts an address's connections on every listener of the broker", async () => {
    const config = {
      listeners: 'PLAINTEXT://127.0.0.1:0,OTHER://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT',
      'max.connections.per.ip': '2',
    }
    await withBroker(config, async (broker) => {
      const ports = [broker.listeners.PLAINTEXT, broker.listeners.OTHER].map((l) =>
        portOf((l as string[])[0] as string),
      )
      const open = ports.map((port) => ask(port))
      try {
        for (const a of open) assert.notEqual(await a.answer, 'closed')
        for (const port of ports) assert.equal(await ask(port).answer, 'closed', `a third connection (port ${port})`)
      } finally {
        for (const a of open) a.socket.destroy()
      }
    })
  })

  test('max.connections.per.ip.overrides gives an address its own limit', async () => {
    const config = { 'max.connections.per.ip': '1', 'max.connections.per.ip.overrides': '127.0.0.1:3' }
    await withBroker(config, async (broker) => {
      const fromOne = Array.from({ length: 3 }, () => ask(broker.port, '127.0.0.1', '127.0.0.1'))
      const fromTwo = ask(broker.port, '127.0.0.1', '127.0.0.2')
      const all = [...fromOne, fromTwo]
      try {
        for (const a of all) assert.notEqual(await a.answer, 'closed')
        // 127.0.0.1 is at its override, 127.0.0.2 at the default of one.
        assert.equal(await ask(broker.port, '127.0.0.1', '127.0.0.1').answer, 'closed')
        assert.equal(await ask(broker.port, '127.0.0.1', '127.0.0.2').answer, 'closed')
      } finally {
        for (const a of all) a.socket.destroy()
      }
    })
  })
})
