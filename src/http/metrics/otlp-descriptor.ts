/**
 * The part of the OpenTelemetry protocol that client telemetry (KIP-714) pushes: an
 * ExportMetricsServiceRequest with its gauges and sums, as a protobufjs JSON descriptor. Field
 * numbers and types are those of opentelemetry-proto (opentelemetry/proto/collector/metrics/v1,
 * metrics/v1 and common/v1), Copyright The OpenTelemetry Authors, licensed under the Apache
 * License 2.0 (see NOTICE). Messages and fields samsa does not read are left out: protobuf
 * decoders skip what they do not know (resources, scopes, histograms, summaries, exemplars).
 */
import type { INamespace } from 'protobufjs/light.js'

export const OTLP_METRICS: INamespace = {
  nested: {
    ExportMetricsServiceRequest: {
      fields: { resourceMetrics: { rule: 'repeated', type: 'ResourceMetrics', id: 1 } },
    },
    ResourceMetrics: {
      fields: { scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 } },
    },
    ScopeMetrics: {
      fields: { metrics: { rule: 'repeated', type: 'Metric', id: 2 } },
    },
    Metric: {
      oneofs: { data: { oneof: ['gauge', 'sum'] } },
      fields: {
        name: { type: 'string', id: 1 },
        description: { type: 'string', id: 2 },
        unit: { type: 'string', id: 3 },
        gauge: { type: 'Gauge', id: 5 },
        sum: { type: 'Sum', id: 7 },
      },
    },
    Gauge: {
      fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 } },
    },
    Sum: {
      fields: {
        dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 },
        aggregationTemporality: { type: 'AggregationTemporality', id: 2 },
        isMonotonic: { type: 'bool', id: 3 },
      },
    },
    AggregationTemporality: {
      values: {
        AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
        AGGREGATION_TEMPORALITY_DELTA: 1,
        AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
      },
    },
    NumberDataPoint: {
      oneofs: { value: { oneof: ['asDouble', 'asInt'] } },
      fields: {
        attributes: { rule: 'repeated', type: 'KeyValue', id: 7 },
        timeUnixNano: { type: 'fixed64', id: 3 },
        asDouble: { type: 'double', id: 4 },
        asInt: { type: 'sfixed64', id: 6 },
      },
    },
    KeyValue: {
      fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } },
    },
    AnyValue: {
      oneofs: { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue'] } },
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
      },
    },
  },
}
