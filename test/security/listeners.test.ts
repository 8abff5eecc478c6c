import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startBroker } from '../../src/broker/broker.ts'
import { clientListeners } from '../../src/broker/listeners-config.ts'
import {
  createDescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../src/protocol/generated/describe-cluster.ts'
import {
  createFindCoordinatorRequest,
  type FindCoordinatorResponse,
} from '../../src/protocol/generated/find-coordinator.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest, type MetadataResponse } from '../../src/protocol/generated/metadata.ts'
import { CaptureLog } from '../helpers/capture-log.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

/** The port of a `host:port`. */
const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

describe('listeners as Kafka configures them', () => {
  test('several named listeners: each answers Metadata, DescribeCluster and FindCoordinator with its own addresses', async (t) => {
    const broker = await startBroker({
      brokers: 2,
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
        'advertised.listeners': 'PLAINTEXT://localhost:0,INTERNAL://127.0.0.1:0',
      },
    })
    t.after(() => broker.close())
    const outside = broker.listeners.PLAINTEXT as string[]
    const inside = broker.listeners.INTERNAL as string[]
    assert.equal(outside.length, 2)
    assert.ok(outside.every((a) => a.startsWith('localhost:')))
    assert.ok(inside.every((a) => a.startsWith('127.0.0.1:')))
    assert.equal(broker.bootstrap, outside[0])
    for (const [addresses, host] of [
      [outside, 'localhost'],
      [inside, '127.0.0.1'],
    ] as const) {
      const raw = await RawClient.connect(portOf(addresses[1] as string))
      t.after(() => raw.close())
      const md = await raw.send<MetadataResponse>(ApiKey.Metadata, 12, createMetadataRequest({ topics: [] }))
      assert.deepEqual(
        md.brokers.map((b) => `${b.host}:${b.port}`),
        addresses,
      )
      const dc = await raw.send<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, createDescribeClusterRequest())
      assert.deepEqual(
        dc.brokers.map((b) => `${b.host}:${b.port}`),
        addresses,
      )
      const fc = await raw.send<FindCoordinatorResponse>(
        ApiKey.FindCoordinator,
        4,
        createFindCoordinatorRequest({ keyType: 0, coordinatorKeys: ['g'] }),
      )
      assert.equal(fc.coordinators[0]?.host, host)
      assert.ok(addresses.includes(`${fc.coordinators[0]?.host}:${fc.coordinators[0]?.port}`))
    }
    // A client bootstrapped on the internal listener stays on it and works end to end.
    const kafka = kafkajsClient(inside[0] as string)
    const producer = kafka.producer()
    await producer.connect()
    t.after(() => producer.disconnect())
    const [sent] = await producer.send({ topic: 'on-internal', messages: [{ value: 'x' }] })
    assert.equal(sent?.errorCode, 0)
  })

  test('several brokers with several fixed listener ports: each broker takes the next block of ports', async (t) => {
    // Fixed ports: try blocks of four until one is free (another process may hold any port).
    let broker: Awaited<ReturnType<typeof startBroker>> | undefined
    let base = 0
    for (let attempt = 0; broker === undefined; attempt++) {
      base = 20_000 + Math.floor(Math.random() * 30_000)
      try {
        broker = await startBroker({
          brokers: 2,
          config: {
            listeners: `PLAINTEXT://127.0.0.1:${base},OTHER://127.0.0.1:${base + 1}`,
            'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,OTHER:PLAINTEXT',
          },
        })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 20) throw err
      }
    }
    const started = broker
    t.after(() => started.close())
    assert.deepEqual(started.listeners, {
      PLAINTEXT: [`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`],
      OTHER: [`127.0.0.1:${base + 1}`, `127.0.0.1:${base + 3}`],
    })
  })

  test("Kafka's default protocol map, controller listeners left unbound, and Kafka's refusals", () => {
    const fallback = 'PLAINTEXT://:9092'
    assert.deepEqual(
      clientListeners(
        {
          listeners: 'PLAINTEXT://:1,SASL_SSL://:2,CONTROLLER://:3',
          'controller.listener.names': 'CONTROLLER',
        },
        fallback,
      ).map((l) => `${l.name}:${l.protocol}:${l.port}`),
      ['PLAINTEXT:PLAINTEXT:1', 'SASL_SSL:SASL_SSL:2'],
    )
    assert.throws(() => clientListeners({ listeners: 'PLAINTEXT://:1,EXTERNAL://:2' }, fallback), {
      message:
        "Error creating broker listeners from 'PLAINTEXT://:1,EXTERNAL://:2': No security protocol defined for listener EXTERNAL",
    })
    assert.throws(
      () => clientListeners({ listeners: 'A://:1', 'listener.security.protocol.map': 'A:TLS' }, fallback),
      /Invalid value A:TLS for configuration listener.security.protocol.map: No enum constant org.apache.kafka.common.security.auth.SecurityProtocol.TLS/,
    )
    assert.throws(
      () =>
        clientListeners(
          { listeners: 'PLAINTEXT://:1', 'advertised.listeners': 'PLAINTEXT://h:1,EXTERNAL://h:2' },
          fallback,
        ),
      {
        message:
          'advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found PLAINTEXT,EXTERNAL. The valid options based on the current configuration are PLAINTEXT',
      },
    )
    assert.throws(
      () => clientListeners({ listeners: 'PLAINTEXT://:1,PLAINTEXT://:2' }, fallback),
      /Each listener must have a different name/,
    )
  })
})

describe('listeners of a broker in a cluster over PostgreSQL', {
  skip: (await hasPostgres()) ? false : POSTGRES_MISSING,
}, () => {
  test('without a PLAINTEXT listener the broker warns that the others cannot send it transaction markers', async (t) => {
    const sasl = {
      'sasl.enabled.mechanisms': 'PLAIN',
      'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="b";',
    }
    const warned = new CaptureLog()
    const secured = await startBroker({
      storage: (await freshDatabase()) as `postgres://${string}`,
      logger: warned,
      config: { listeners: 'SASL_PLAINTEXT://localhost:0', ...sasl },
    })
    t.after(() => secured.close())
    assert.equal(warned.find(/no PLAINTEXT listener: the other brokers of the cluster cannot send/).length, 1)
    const quiet = new CaptureLog()
    const both = await startBroker({
      storage: (await freshDatabase()) as `postgres://${string}`,
      logger: quiet,
      config: { listeners: 'SASL_PLAINTEXT://localhost:0,PLAINTEXT://localhost:0', ...sasl },
    })
    t.after(() => both.close())
    assert.equal(quiet.find(/no PLAINTEXT listener/).length, 0)
    // The PLAINTEXT listener is the one registered for the other brokers.
    assert.equal(both.bootstrap, (both.listeners.PLAINTEXT as string[])[0])
  })
})
