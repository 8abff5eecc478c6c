/** The broker config registry: Kafka names applied, aliased or ignored; listeners picked from Kafka's lists. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { advertisedListener, clientListeners } from '../../src/broker/listeners-config.ts'
import {
  BROKER_CONFIG_BY_NAME,
  ignoredBrokerProps,
  isKnownBrokerConfig,
  normalizeBrokerProps,
  suggestBrokerConfig,
  validateBrokerProps,
} from '../../src/config/broker-configs.ts'
import { IGNORED_BROKER_CONFIGS, ignoredConfigReason } from '../../src/config/ignored-broker-configs.ts'

test('a config is either applied or ignored with a reason, never both, and each ignored name once', () => {
  const ignored = IGNORED_BROKER_CONFIGS.flatMap((g) => g.names)
  assert.equal(new Set(ignored).size, ignored.length)
  assert.deepEqual(
    ignored.filter((n) => BROKER_CONFIG_BY_NAME.has(n)),
    [],
  )
  for (const g of IGNORED_BROKER_CONFIGS) assert.ok(g.reason.length > 10, g.reason)
})

test('prefix families, aliases and suggestions', () => {
  assert.match(ignoredConfigReason('listener.name.external.ssl.cipher.suites') ?? '', /TLS tuning/)
  assert.match(ignoredConfigReason('zookeeper.ssl.new.thing') ?? '', /removed in Kafka 4\.0/)
  assert.equal(ignoredConfigReason('listener.name.'), undefined)
  assert.ok(isKnownBrokerConfig('broker.id') && isKnownBrokerConfig('log.dir') && !isKnownBrokerConfig('log.dirz'))
  assert.equal(suggestBrokerConfig('log.dirz'), 'log.dirs')
  assert.equal(suggestBrokerConfig('segment.bytes'), 'log.segment.bytes')
  assert.equal(suggestBrokerConfig('completely.unrelated.name'), undefined)
  assert.deepEqual(validateBrokerProps({ 'broker.id': 'x', 'num.io.threads': 'whatever' }), [
    'broker.id: node.id must be an integer, got "x"',
  ])
  assert.deepEqual(normalizeBrokerProps({ 'broker.id': '3', 'log.dir': '/a' }), {
    props: { 'node.id': '3', 'log.dirs': '/a' },
    notes: [],
  })
  assert.deepEqual(normalizeBrokerProps({ 'broker.id': '3', 'node.id': '4', 'log.dirs': '/a, /b' }), {
    props: { 'node.id': '4', 'log.dirs': '/a' },
    notes: ['broker.id ignored: node.id is set', 'log.dirs: only the first directory (/a) is used'],
  })
  assert.deepEqual(
    ignoredBrokerProps({ 'num.partitions': '3', 'num.io.threads': '8' }).map((i) => i.name),
    ['num.io.threads'],
  )
})

test('the client listeners: every listener but the controller ones, in order', () => {
  const kraft = {
    listeners: 'CONTROLLER://:9093,PLAINTEXT://:9092',
    'controller.listener.names': 'CONTROLLER',
  }
  assert.deepEqual(clientListeners(kraft, ''), [{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '', port: 9092 }])
  const named = {
    listeners: 'INTERNAL://10.0.0.1:9092,EXTERNAL://[::1]:9094,SECURE://:9095',
    'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,SECURE:SSL',
  }
  assert.deepEqual(clientListeners(named, ''), [
    { name: 'INTERNAL', protocol: 'PLAINTEXT', host: '10.0.0.1', port: 9092 },
    { name: 'EXTERNAL', protocol: 'PLAINTEXT', host: '::1', port: 9094 },
    { name: 'SECURE', protocol: 'SSL', host: '', port: 9095 },
  ])
  assert.deepEqual(clientListeners({}, 'PLAINTEXT://127.0.0.1:0')[0]?.host, '127.0.0.1')
  assert.throws(
    () => clientListeners({ listeners: 'CLIENT://:9092' }, ''),
    /No security protocol defined for listener CLIENT/,
  )
  assert.throws(() => clientListeners({ listeners: 'PLAINTEXT://:9092x' }, ''), /invalid listener/)
  assert.deepEqual(advertisedListener('PLAINTEXT://kafka:9092,CONTROLLER://kafka:9093', 'PLAINTEXT'), {
    name: 'PLAINTEXT',
    host: 'kafka',
    port: 9092,
  })
  assert.equal(advertisedListener('EXTERNAL://a:1,OTHER://b:2', 'PLAINTEXT'), undefined)
  assert.equal(advertisedListener(undefined, 'PLAINTEXT'), undefined)
})
