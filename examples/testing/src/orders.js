/**
 * A tiny order service: publishes orders keyed by customer and keeps a running total per customer
 * from the orders topic, committing as it goes.
 */

/** Publishes one order; the customer is the key, so a customer's orders stay in order. */
export async function publishOrder(producer, topic, order) {
  await producer.send({
    topic,
    messages: [{ key: order.customer, value: JSON.stringify(order), headers: { 'order-id': order.id } }],
  })
}

/** Consumes orders in a consumer group and sums the amounts per customer. */
export async function startTotals(kafka, { topic, groupId }) {
  const totals = new Map()
  const consumer = kafka.consumer({ groupId, heartbeatInterval: 100, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ message }) => {
      const order = JSON.parse(message.value.toString())
      totals.set(order.customer, (totals.get(order.customer) ?? 0) + order.amount)
    },
  })
  return { totals, stop: () => consumer.disconnect() }
}
