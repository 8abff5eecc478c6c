/** murmur2 against the Java client's values, and the default partitioner built on it. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { murmur2, toPositive } from '../../src/client/murmur2.ts'
import { DefaultPartitioner, partitionForKey } from '../../src/client/partitioner.ts'

// Values the Java client's Utils.murmur2 returns (Kafka's own unit test vectors).
const JAVA_VECTORS: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
]

test('murmur2 matches the Java client on its reference vectors', () => {
  for (const [input, expected] of JAVA_VECTORS) assert.equal(murmur2(Buffer.from(input)), expected, input)
})

test('murmur2 covers every tail length and empty input', () => {
  // Tail lengths 0..3 all differ and stay 32-bit signed integers.
  const seen = new Set<number>()
  for (const s of ['', 'a', 'ab', 'abc', 'abcd', 'abcde']) {
    const h = murmur2(Buffer.from(s))
    assert.ok(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31)
    seen.add(h)
  }
  assert.equal(seen.size, 6)
})

test('toPositive clears the sign bit like Java (not Math.abs)', () => {
  assert.equal(toPositive(-1), 0x7fffffff)
  assert.equal(toPositive(-(2 ** 31)), 0)
  assert.equal(toPositive(-790332482), 1357151166)
})

test('keyed records go to toPositive(murmur2(key)) % partitions', () => {
  // toPositive(-790332482) = 1357151166; 1357151166 % 6 = 0, % 7 = 2 (the Java producer's choice)
  assert.equal(partitionForKey(Buffer.from('foobar'), 6), 1357151166 % 6)
  assert.equal(partitionForKey(Buffer.from('foobar'), 7), 1357151166 % 7)
  const p = new DefaultPartitioner()
  for (const [k] of JAVA_VECTORS) {
    assert.equal(p.partition('t', Buffer.from(k), 12), toPositive(murmur2(Buffer.from(k))) % 12)
  }
})

test('records without a key stick to one partition until its batch is sent', () => {
  const p = new DefaultPartitioner()
  const first = p.partition('t', null, 4)
  for (let i = 0; i < 10; i++) assert.equal(p.partition('t', null, 4), first)
  p.batchSent('t', first, 4)
  const next = p.partition('t', undefined, 4)
  assert.notEqual(next, first)
  assert.ok(next >= 0 && next < 4)
  // A single partition topic has nowhere else to go.
  assert.equal(p.partition('one', null, 1), 0)
  p.batchSent('one', 0, 1)
  assert.equal(p.partition('one', null, 1), 0)
})
