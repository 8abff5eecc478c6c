export { type Broker, type BrokerOptions, startBroker } from './broker/broker.ts'
export * from './client/index.ts'
export { ErrorCode } from './protocol/error-codes.ts'
