/**
 * The Grafana dashboard in dashboards/samsa.json: its shape (what Grafana needs to import it:
 * panels with unique ids on the 24-column grid, Prometheus targets with unique refIds, every
 * variable a query uses defined) and its metrics: every name its queries use is on the /metrics
 * of a running broker after kafkajs traffic (produce, a consumer group, a fetch), with samples
 * for all but the families that only have some once a failure happens or on the postgres engine.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { tempDir } from '../storage/helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const DASHBOARD = new URL('../../../dashboards/samsa.json', import.meta.url)

interface Target {
  refId?: unknown
  expr?: unknown
  datasource?: unknown
}

interface Panel {
  id?: unknown
  type?: unknown
  title?: unknown
  gridPos?: { h?: unknown; w?: unknown; x?: unknown; y?: unknown }
  datasource?: unknown
  targets?: Target[]
}

interface Dashboard {
  title?: unknown
  uid?: unknown
  schemaVersion?: unknown
  panels?: Panel[]
  templating?: { list?: { name?: unknown; type?: unknown }[] }
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard
const PANEL_TYPES = new Set(['row', 'timeseries', 'stat', 'gauge', 'table', 'bargauge', 'heatmap', 'text'])
/** Families that have samples only once something fails, or only on the postgres engine. */
const MAY_HAVE_NO_SAMPLES = new Set([
  'samsa_request_errors_total',
  'samsa_storage_errors_total',
  'samsa_storage_pool_connections',
  'samsa_storage_pool_idle_connections',
  'samsa_storage_pool_waiting_clients',
])

function panels(): Panel[] {
  assert.ok(Array.isArray(dashboard.panels), 'panels is an array')
  return dashboard.panels
}

function expressions(): string[] {
  return panels().flatMap((p) => (p.targets ?? []).map((t) => t.expr as string))
}

/** Metric names in a PromQL expression: identifiers followed by a selector, a range or the end of a call argument. */
function metricNames(expr: string): string[] {
  const functionsAndKeywords = /^(sum|count|rate|increase|histogram_quantile|by|without|label_values)$/
  return [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[|\)|$)/g)]
    .map((m) => m[1] as string)
    .filter((name) => !functionsAndKeywords.test(name) && /_/.test(name))
}

describe('dashboards/samsa.json', () => {
  it('has the shape Grafana imports', () => {
    assert.equal(typeof dashboard.title, 'string')
    assert.equal(typeof dashboard.uid, 'string')
    assert.equal(typeof dashboard.schemaVersion, 'number')
    const ids = new Set<unknown>()
    for (const p of panels()) {
      const where = `panel ${String(p.title)}`
      assert.equal(typeof p.id, 'number', where)
      assert.ok(!ids.has(p.id), `${where}: id ${String(p.id)} is used twice`)
      ids.add(p.id)
      assert.ok(PANEL_TYPES.has(p.type as string), `${where}: type ${String(p.type)}`)
      assert.equal(typeof p.title, 'string', where)
      const { h, w, x, y } = p.gridPos ?? {}
      for (const n of [h, w, x, y]) assert.ok(Number.isInteger(n) && (n as number) >= 0, `${where}: gridPos`)
      assert.ok((x as number) + (w as number) <= 24, `${where}: past the 24 columns`)
      if (p.type === 'row') continue
      assert.ok(p.datasource, `${where}: datasource`)
      assert.ok(Array.isArray(p.targets) && p.targets.length > 0, `${where}: targets`)
      const refIds = p.targets.map((t) => t.refId)
      assert.equal(new Set(refIds).size, refIds.length, `${where}: refIds are unique`)
      for (const t of p.targets) {
        assert.ok(typeof t.expr === 'string' && t.expr.length > 0, `${where}: expr`)
        let depth = 0
        for (const c of t.expr) {
          depth += c === '(' ? 1 : c === ')' ? -1 : 0
          assert.ok(depth >= 0, `${where}: ${t.expr}`)
        }
        assert.equal(depth, 0, `${where}: unbalanced ${t.expr}`)
      }
    }
    const variables = new Set((dashboard.templating?.list ?? []).map((v) => v.name))
    for (const expr of expressions()) {
      for (const [, name] of expr.matchAll(/\$(\w+)/g)) {
        if (!name?.startsWith('__')) assert.ok(variables.has(name), `$${name} is not a dashboard variable: ${expr}`)
      }
    }
  })

  describe('every metric it queries, on a running broker after traffic', () => {
    let broker: Broker
    let removeDir: () => Promise<void>

    before(async () => {
      const dir = await tempDir('samsa-dashboard-')
      removeDir = dir.remove
      broker = await startBroker({ storage: 'local', dataDir: dir.path, httpPort: 0 })
      const kafka = kafkajsClient(broker.bootstrap)
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic: 'dashboard', acks: -1, messages: [{ value: 'a' }, { value: 'b' }] })
      await producer.disconnect()
      const consumer = kafka.consumer({ groupId: 'dashboard-readers' })
      await consumer.connect()
      await consumer.subscribe({ topic: 'dashboard', fromBeginning: true })
      let seen = 0
      await consumer.run({
        eachMessage: async () => {
          seen++
        },
      })
      await waitUntil('both records consumed', () => seen === 2)
      await consumer.disconnect()
    })

    after(async () => {
      await broker?.close()
      await removeDir?.()
    })

    it('is declared on /metrics, and has samples unless it only counts failures or the postgres pool', async () => {
      const text = await (await fetch(`http://localhost:${broker.httpPort}/metrics`)).text()
      const declared = new Set<string>()
      const sampled = new Set<string>()
      for (const line of text.split('\n')) {
        const type = /^# TYPE (\S+) (\S+)$/.exec(line)
        if (type) {
          const [, name, kind] = type as unknown as [string, string, string]
          declared.add(name)
          if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) declared.add(name + s)
        } else if (line !== '' && !line.startsWith('#')) {
          sampled.add(line.slice(0, line.search(/[{ ]/)))
        }
      }
      const names = new Set(expressions().flatMap(metricNames))
      assert.ok(names.size >= 30, `${names.size} metric names found in the queries`)
      for (const name of names) {
        assert.ok(declared.has(name), `${name} is not on /metrics`)
        if (!MAY_HAVE_NO_SAMPLES.has(name)) assert.ok(sampled.has(name), `${name} has no samples after traffic`)
      }
    })
  })
})
