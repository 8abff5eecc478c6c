/** The broker's services: started in order, closed in reverse, nothing left running after a failed start or close. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Service, Services } from '../../src/broker/services.ts'

/** Services that write what happens to them into `events`; `fail` names the steps that throw. */
function recorded(names: string[], events: string[], fail: string[] = []): Service[] {
  return names.map((name) => ({
    name,
    async start() {
      if (fail.includes(`start ${name}`)) throw new Error(`start ${name} failed`)
      events.push(`start ${name}`)
    },
    async close() {
      if (fail.includes(`close ${name}`)) throw new Error(`close ${name} failed`)
      events.push(`close ${name}`)
    },
  }))
}

describe('Services', () => {
  it('starts in list order and closes in reverse', async () => {
    const events: string[] = []
    const services = new Services()
    await services.start(recorded(['http', 'storage', 'listeners'], events))
    await services.close()
    assert.deepEqual(events, [
      'start http',
      'start storage',
      'start listeners',
      'close listeners',
      'close storage',
      'close http',
    ])
  })

  it('a failed start closes what had started, in reverse, and throws the start error', async () => {
    const events: string[] = []
    const services = new Services()
    await assert.rejects(
      services.start(recorded(['http', 'storage', 'listeners'], events, ['start listeners', 'close http'])),
      /start listeners failed/,
    )
    assert.deepEqual(events, ['start http', 'start storage', 'close storage'])
    // Nothing is left to close.
    await services.close()
    assert.deepEqual(events, ['start http', 'start storage', 'close storage'])
  })

  it('a failed close still closes the services before it, then throws the first failure', async () => {
    const events: string[] = []
    const services = new Services()
    await services.start(recorded(['storage', 'coordinators', 'listeners'], events, ['close listeners']))
    await assert.rejects(services.close(), /close listeners failed/)
    assert.deepEqual(events, [
      'start storage',
      'start coordinators',
      'start listeners',
      'close coordinators',
      'close storage',
    ])
  })
})
