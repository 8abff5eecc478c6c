export { type Broker, type BrokerOptions, startBroker } from './broker/broker.ts'
export * from './client/index.ts'
export { SamsaError, type SamsaErrorCode } from './errors.ts'
export { ErrorCode } from './protocol/error-codes.ts'
