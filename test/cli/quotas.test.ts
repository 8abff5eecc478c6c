/**
 * `samsa quotas alter|describe` as real processes: quotas set by the command are what
 * @platformatic/kafka's admin describes (and the reverse), filters by name, default and any type,
 * --dry-run, and Kafka's refusals as one line with exit code 1; usage errors exit 2.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { platformatic } from '../helpers/clients.ts'
import { useCliBroker } from './helpers.ts'

const env = useCliBroker()

interface Described {
  entity: { type: string; name: string | null }[]
  values: Record<string, number>
}

describe('samsa quotas', () => {
  test('alter sets and removes quotas that describe and @platformatic/kafka see', async (t) => {
    const set = await env.samsa([
      'quotas',
      'alter',
      '--name',
      'client-id=reporting',
      '--add',
      'consumer_byte_rate=1048576',
    ])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stderr, /altered: client-id=reporting/)
    const both = await env.samsa([
      ...['quotas', 'alter', '--name', 'user=alice', '--name', 'client-id=app'],
      ...['--add', 'producer_byte_rate=524288', '--add', 'request_percentage=25'],
    ])
    assert.equal(both.code, 0, both.stderr)
    const dflt = await env.samsa(['quotas', 'alter', '--default', 'user', '--add', 'producer_byte_rate=100000'])
    assert.equal(dflt.code, 0, dflt.stderr)

    const { Admin } = await platformatic()
    const admin = new Admin({ clientId: 'quota-cli-test', bootstrapBrokers: [env.broker.bootstrap] })
    t.after(() => admin.close())
    const seen = await admin.describeClientQuotas({
      components: [{ entityType: 'user', matchType: 0, match: 'alice' }],
    })
    assert.deepEqual(
      seen.map((e) => e.values.map((v) => `${v.key}=${v.value}`).sort()),
      [['producer_byte_rate=524288', 'request_percentage=25']],
    )

    const json = async (...args: string[]) => {
      const r = await env.samsa(['quotas', 'describe', '--json', ...args])
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as Described[]
    }
    assert.equal((await json()).length, 3)
    assert.deepEqual(await json('--name', 'client-id=reporting'), [
      { entity: [{ type: 'client-id', name: 'reporting' }], values: { consumer_byte_rate: 1048576 } },
    ])
    assert.deepEqual(await json('--default', 'user', '--strict'), [
      { entity: [{ type: 'user', name: null }], values: { producer_byte_rate: 100000 } },
    ])
    assert.equal((await json('--any', 'user')).length, 2, 'alice with app, and the default user')
    const table = await env.samsa(['quotas', 'describe', '--name', 'user=alice'])
    assert.match(table.stdout, /^ENTITY\s+QUOTAS\nuser=alice,client-id=app\s+/)

    const dry = await env.samsa([
      'quotas',
      'alter',
      '--name',
      'client-id=reporting',
      '--delete',
      'consumer_byte_rate',
      '--dry-run',
    ])
    assert.equal(dry.code, 0, dry.stderr)
    assert.equal((await json('--name', 'client-id=reporting')).length, 1, 'a dry run changes nothing')
    // Quotas set by another admin client are the command's too.
    await admin.alterClientQuotas({
      entries: [
        {
          entities: [{ entityType: 'client-id', entityName: 'reporting' }],
          ops: [{ key: 'consumer_byte_rate', remove: true }],
        },
      ],
    })
    assert.deepEqual(await json('--name', 'client-id=reporting'), [])
  })

  test("refusals: Kafka's INVALID_REQUEST in one line, usage errors", async () => {
    const zero = await env.samsa(['quotas', 'alter', '--name', 'user=bob', '--add', 'producer_byte_rate=0'])
    assert.equal(zero.code, 1)
    assert.match(zero.stderr, /INVALID_REQUEST: Quota producer_byte_rate must be greater than 0/)
    assert.equal(zero.stderr.trim().split('\n').length, 1)
    const ipKey = await env.samsa(['quotas', 'alter', '--name', 'ip=10.0.0.1', '--add', 'producer_byte_rate=10'])
    assert.equal(ipKey.code, 1)
    assert.match(ipKey.stderr, /Invalid configuration key producer_byte_rate/)
    const noEntity = await env.samsa(['quotas', 'alter', '--add', 'producer_byte_rate=10'])
    assert.equal(noEntity.code, 2)
    const badType = await env.samsa(['quotas', 'describe', '--any', 'group'])
    assert.equal(badType.code, 2)
    assert.match(badType.stderr, /unknown entity type "group"/)
    const notNumber = await env.samsa(['quotas', 'alter', '--name', 'user=bob', '--add', 'producer_byte_rate=lots'])
    assert.equal(notNumber.code, 2)
  })
})
