/** Helpers of the security tests. */
import type { KafkaConfig } from 'kafkajs'
import { kafkajsClient } from '../helpers/clients.ts'

/** Produces two records and reads them back with kafkajs. */
export async function kafkajsRoundTrip(
  bootstrap: string,
  config: Partial<KafkaConfig>,
  topic: string,
): Promise<string[]> {
  const kafka = kafkajsClient(bootstrap, config)
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic, messages: [{ value: 'one' }, { value: 'two' }] })
  await producer.disconnect()
  const consumer = kafka.consumer({ groupId: `${topic}-g` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen: string[] = []
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value))
          if (seen.length === 2) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  return seen
}
