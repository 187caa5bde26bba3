// SPDX-License-Identifier: Apache-2.0
/**
 * Webhook alerts: `POST <url>` with the JSON payload, signed like GitHub/Stripe webhooks so the
 * receiver can check origin and freshness:
 * `x-phigate-timestamp: <unix seconds>` and
 * `x-phigate-signature: sha256=<hex HMAC-SHA-256 over "<timestamp>.<body>" with the shared secret>`.
 * Any 2xx is delivered; anything else is retried.
 */
import { createHmac } from 'node:crypto';
import { AlertDeliveryError, type AlertChannel } from './channel.js';

export interface WebhookChannelOptions {
  readonly id: string;
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
}

/** The signature a receiver recomputes. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export function createWebhookChannel(options: WebhookChannelOptions): AlertChannel {
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  return {
    id: options.id,
    kind: 'webhook',
    async send(payload, signal) {
      const timestamp = String(Math.floor(now() / 1000));
      const response = await doFetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'phigate-alerts',
          'x-phigate-timestamp': timestamp,
          'x-phigate-signature': signWebhook(options.secret, timestamp, payload),
        },
        body: payload,
        redirect: 'error',
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      await response.body?.cancel();
      if (response.status < 200 || response.status > 299) throw new AlertDeliveryError(`http_${response.status}`);
    },
  };
}
