/** `samsa groups describe --all-groups`: every group of the cluster, one JSON document each. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { commitOffsets } from '../../src/client/offsets.ts'
import { Producer } from '../../src/client/producer.ts'
import { useCliBroker } from './helpers.ts'

const env = useCliBroker()

test('groups describe --all-groups describes every group; naming groups and --all-groups exclude each other', async () => {
  const { admin, samsa } = env
  const empty = await samsa(['groups', 'describe', '--all-groups'])
  assert.equal(empty.code, 0, empty.stderr)
  assert.equal(empty.stderr, 'no groups\n')

  await admin.createTopics([{ name: 'lagging', partitions: 1 }])
  await new Producer(admin.cluster).sendMany([1, 2, 3].map((i) => ({ topic: 'lagging', value: `v${i}` })))
  await commitOffsets(admin.cluster, 'zeta', [{ topic: 'lagging', partition: 0, offset: 1n }])
  await commitOffsets(admin.cluster, 'alpha', [{ topic: 'lagging', partition: 0, offset: 3n }])
  const all = await samsa(['groups', 'describe', '--all-groups', '--json'])
  assert.equal(all.code, 0, all.stderr)
  const docs = all.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { groupId: string; totalLag: number })
  assert.deepEqual(
    docs.map((d) => [d.groupId, d.totalLag]),
    [
      ['alpha', 0],
      ['zeta', 2],
    ],
  )
  const text = await samsa(['groups', 'describe', '--all-groups'])
  assert.match(text.stdout, /^Group: alpha {2}State: Empty[\s\S]*\n\nGroup: zeta {2}State: Empty .*Total lag: 2\n/)

  const both = await samsa(['groups', 'describe', 'alpha', '--all-groups'])
  assert.equal(both.code, 2)
  assert.match(both.stderr, /name groups or give --all-groups, not both; see samsa groups describe --help/)
  const none = await samsa(['groups', 'describe'])
  assert.equal(none.code, 2)
  assert.match(none.stderr, /name at least one group, or give --all-groups/)
})
