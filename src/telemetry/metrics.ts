// SPDX-License-Identifier: Apache-2.0
/**
 * Prometheus metrics. Label values are drawn from closed sets (route templates, status codes,
 * endpoint ids, model names from configuration, error codes) — never users, patients, keys or text.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly httpDuration: Histogram<'route'>;
  readonly providerDuration: Histogram<'endpoint' | 'operation' | 'outcome'>;
  readonly providerTimeToFirstChunk: Histogram<'endpoint'>;
  readonly tokens: Counter<'endpoint' | 'direction'>;
  readonly refusals: Counter<'code'>;
  readonly auditAppendDuration: Histogram;
  readonly auditBatchSize: Histogram;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'phigate_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'phigate_http_requests_total', help: 'HTTP requests by route template and status', labelNames: ['route', 'status'], registers }),
    httpDuration: new Histogram({
      name: 'phigate_http_request_duration_seconds',
      help: 'Time from request received to response headers sent',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    }),
    providerDuration: new Histogram({
      name: 'phigate_provider_request_duration_seconds',
      help: 'Vendor call duration by endpoint, operation and outcome',
      labelNames: ['endpoint', 'operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    providerTimeToFirstChunk: new Histogram({
      name: 'phigate_provider_time_to_first_token_seconds',
      help: 'Time from vendor call to first streamed chunk',
      labelNames: ['endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    tokens: new Counter({ name: 'phigate_tokens_total', help: 'Tokens reported by vendors', labelNames: ['endpoint', 'direction'], registers }),
    refusals: new Counter({ name: 'phigate_refusals_total', help: 'Refused requests by error code', labelNames: ['code'], registers }),
    auditAppendDuration: new Histogram({
      name: 'phigate_audit_append_seconds',
      help: 'Time from audit append to durable commit',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2],
      registers,
    }),
    auditBatchSize: new Histogram({ name: 'phigate_audit_batch_records', help: 'Records per audit group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers }),
  };
}
