/**
 * samsa/testing: an in-process Kafka for test suites. `startBroker()` gives a real broker on a
 * free port in milliseconds, with waits, inspection, fault injection and time control.
 */
export type { ClusterNode } from '../broker/cluster.ts'
export { ErrorCode } from '../protocol/error-codes.ts'
export { TestClock } from './clock.ts'
export {
  type ApiSelector,
  closeConnection,
  type ErrorSelector,
  type Fault,
  Faults,
  type InterceptedRequest,
  type Interceptor,
  type RequestMatch,
  type RequestTarget,
  type RuleOptions,
} from './faults.ts'
export {
  type CommittedOffsetInfo,
  type DecodedRecord,
  decodeConsumerAssignment,
  type GroupInfo,
  lastHeader,
  type MemberInfo,
  type ReadRecordsOptions,
  type RecordHeader,
  type TransactionInfo,
} from './inspect.ts'
export { uniqueName } from './names.ts'
export {
  type GroupWaitOptions,
  type OffsetWaitOptions,
  type SeedRecord,
  startBroker,
  TestBroker,
  type TestBrokerOptions,
  type TopicSpec,
  type TransactionWaitOptions,
} from './test-broker.ts'
export { type WaitOptions, WaitTimeoutError } from './wait.ts'
