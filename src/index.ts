export { type Broker, type BrokerOptions, startBroker } from './broker/broker.ts'
export { ErrorCode } from './protocol/error-codes.ts'
