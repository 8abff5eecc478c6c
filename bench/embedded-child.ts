/**
 * A fresh process for the embedded-broker measurements (started by embedded.ts):
 *   cold   import the broker module, then one startBroker() (memory) and close; report both times
 *   warm   import, then `count` startBroker()/close() in a row; report each start time
 *   idle   import, start one broker and stay idle until told to close (the parent reads the RSS)
 */
import { performance } from 'node:perf_hooks'

type Mode = 'cold' | 'warm' | 'idle'

const mode = (process.argv[2] ?? 'cold') as Mode
const count = Number(process.argv[3] ?? 20)

/** Sends the result and lets the process end. */
function reply(message: object): void {
  process.send?.(message, undefined, {}, () => process.disconnect())
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6

const t0 = process.hrtime.bigint()
// The bundle the package's `samsa` entry point serves (npm run build).
const { startBroker } = (await import(
  new URL('../bundle/index.js', import.meta.url).href
)) as typeof import('../src/index.ts')
const importMs = ms(t0)

if (mode === 'cold') {
  const t1 = process.hrtime.bigint()
  const broker = await startBroker({ storage: 'memory', port: 0 })
  const startMs = ms(t1)
  // Time since the process began (node's own boot included).
  const sinceProcessStartMs = performance.now()
  const t2 = process.hrtime.bigint()
  await broker.close()
  reply({ importMs, startMs, sinceProcessStartMs, closeMs: ms(t2) })
} else if (mode === 'warm') {
  const starts: number[] = []
  const closes: number[] = []
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint()
    const broker = await startBroker({ storage: 'memory', port: 0 })
    starts.push(ms(t))
    const c = process.hrtime.bigint()
    await broker.close()
    closes.push(ms(c))
  }
  reply({ importMs, starts, closes })
} else {
  const broker = await startBroker({ storage: 'memory', port: 0 })
  process.on('message', (m: { type?: string }) => {
    if (m.type === 'memory') process.send?.({ type: 'memory', ...process.memoryUsage() })
    if (m.type === 'close') void broker.close().then(() => process.disconnect())
  })
  process.send?.({ type: 'ready', port: broker.port })
}
