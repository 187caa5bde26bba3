// SPDX-License-Identifier: Apache-2.0
/**
 * Delivers queued break-glass alerts from the outbox to their channels, with exponential
 * backoff. Rows are leased before sending, so several gateway instances share the work;
 * delivery is at-least-once (a crash after sending and before marking repeats a send).
 */
import type { BreakGlassRepo } from '../../store/repos/break-glass-repo.js';
import type { Logger } from '../../telemetry/logger.js';
import type { AccessConfig, AlertChannelConfig } from '../config-schema.js';
import { deliveryErrorCode, type AlertChannel } from './channel.js';
import { createSmtpChannel } from './smtp.js';
import { createSyslogChannel } from './syslog.js';
import { createWebhookChannel } from './webhook.js';

export interface AlertDispatcherOptions {
  readonly repo: Pick<BreakGlassRepo, 'claimDueAlerts' | 'markAlertDelivered' | 'markAlertFailed'>;
  readonly channels: readonly AlertChannel[];
  readonly now: () => number;
  readonly logger?: Pick<Logger, 'warn' | 'error'>;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly pollMs: number;
  /** How long a claimed row stays leased; past it another dispatcher may retry. */
  readonly leaseMs?: number;
  /** Skips a run while false (e.g. while shutting down). */
  readonly isActive?: () => boolean | Promise<boolean>;
}

export interface AlertDispatcher {
  /** Delivers what is due now; resolves with counts. Runs never overlap. */
  runOnce(): Promise<{ delivered: number; failed: number }>;
  /** Schedules a run as soon as possible (a new session was opened). */
  wake(): void;
  /** Starts polling (timers do not keep the process alive). */
  start(): void;
  stop(): Promise<void>;
}

/** Backoff before attempt `attempts + 1`: base · 2^(attempts−1), capped. */
export function retryDelay(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

export function createAlertDispatcher(options: AlertDispatcherOptions): AlertDispatcher {
  const channels = new Map(options.channels.map((channel) => [channel.id, channel]));
  const leaseMs = options.leaseMs ?? 60_000;
  const controller = new AbortController();
  let running: Promise<{ delivered: number; failed: number }> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let started = false;

  async function run(): Promise<{ delivered: number; failed: number }> {
    let delivered = 0;
    let failed = 0;
    if (options.isActive && !(await options.isActive())) return { delivered, failed };
    const at = options.now();
    const due = await options.repo.claimDueAlerts(at, at + leaseMs, 50);
    await Promise.all(
      due.map(async (row) => {
        const channel = channels.get(row.channelId);
        try {
          if (channel === undefined) throw Object.assign(new Error('channel not configured'), { code: 'UNKNOWN_CHANNEL' });
          await channel.send(row.payload, controller.signal);
          await options.repo.markAlertDelivered(row.id, options.now());
          delivered++;
        } catch (err) {
          failed++;
          const attempts = row.attempts + 1;
          const code = deliveryErrorCode(err);
          const next = attempts >= options.maxAttempts ? null : options.now() + retryDelay(attempts, options.retryBaseMs, options.retryMaxMs);
          await options.repo.markAlertFailed(row.id, options.now(), code, next);
          options.logger?.warn({ alertId: row.id, channel: row.channelId, attempts, code, dead: next === null }, 'break-glass alert delivery failed');
        }
      }),
    );
    return { delivered, failed };
  }

  function runOnce(): Promise<{ delivered: number; failed: number }> {
    const previous = running ?? Promise.resolve({ delivered: 0, failed: 0 });
    const next = previous.catch(() => undefined).then(run);
    running = next;
    void next.finally(() => {
      if (running === next) running = undefined;
    }).catch(() => undefined);
    return next;
  }

  function schedule(delayMs: number): void {
    if (!started) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => options.logger?.error({ err }, 'break-glass alert dispatcher run failed'))
        .finally(() => schedule(options.pollMs));
    }, delayMs);
    timer.unref();
  }

  return {
    runOnce,
    wake() {
      schedule(0);
    },
    start() {
      if (started) return;
      started = true;
      schedule(0);
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      controller.abort();
      await running?.catch(() => undefined);
    },
  };
}

/** Builds the configured channels; secrets are resolved by the caller's `secret` function. */
export function createConfiguredChannels(configs: AccessConfig['breakGlass']['channels'], secret: (ref: string) => string): AlertChannel[] {
  return configs.map((config: AlertChannelConfig) => {
    switch (config.kind) {
      case 'webhook':
        return createWebhookChannel({ id: config.id, url: config.url, secret: secret(config.secret), timeoutMs: config.timeoutMs });
      case 'smtp':
        return createSmtpChannel({ id: config.id, host: config.host, port: config.port, helo: config.helo, from: config.from, to: config.to, timeoutMs: config.timeoutMs });
      case 'syslog':
        return createSyslogChannel({ id: config.id, host: config.host, port: config.port, transport: config.transport, appName: config.appName, timeoutMs: config.timeoutMs });
    }
  });
}
