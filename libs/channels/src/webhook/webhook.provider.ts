import * as http from 'node:http';
import * as https from 'node:https';
import type { ChannelProvider, OutboundDelivery, SendResult, WebhookMessage } from '../provider';
import { GuardedHttpAgent, GuardedHttpsAgent } from './ssrf-guard';
import { classifyWebhookAttempt, type WebhookAttempt } from './webhook-classification';
import { signWebhook, type WebhookSignatureHeaders } from './webhook-signature';

export interface WebhookProviderOptions {
  /** let endpoints on loopback and private networks be reached (local development, the sandbox) */
  allowPrivateNetworks: boolean;
  timeoutMs?: number;
  maxResponseBytes?: number;
  userAgent?: string;
}

/** Idle connections kept open per endpoint host (the agent closes them after the timeout). */
const KEEP_ALIVE_SOCKETS = 16;

/**
 * POSTs webhooks signed the Standard Webhooks way. Redirects are never followed: the tenant
 * registered this URL, not wherever it points next (an internal address, say), and a moved
 * endpoint should be re-registered rather than silently chased.
 */
export class WebhookProvider implements ChannelProvider<'webhook'> {
  readonly channel = 'webhook';
  readonly name = 'http';
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly userAgent: string;
  // Keep-alive: a batch to one endpoint reuses its connections instead of a TCP (and TLS) handshake per
  // delivery. The SSRF check is on connecting (ssrf-guard.ts): a reused socket is still connected to the
  // address that passed it, and sockets are pooled per host and port, never shared across endpoints.
  private readonly agents: { 'http:': http.Agent; 'https:': https.Agent };

  constructor(options: WebhookProviderOptions) {
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
    this.userAgent = options.userAgent ?? 'Herald-Webhooks/1';
    const keepAlive = { keepAlive: true, maxFreeSockets: KEEP_ALIVE_SOCKETS, timeout: this.timeoutMs };
    this.agents = options.allowPrivateNetworks
      ? { 'http:': new http.Agent(keepAlive), 'https:': new https.Agent(keepAlive) }
      : { 'http:': new GuardedHttpAgent(keepAlive), 'https:': new GuardedHttpsAgent(keepAlive) };
  }

  async send(delivery: OutboundDelivery, { url, secret, payload, correlationId }: WebhookMessage): Promise<SendResult> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return { outcome: 'permanent', code: 'invalid_url', message: 'the endpoint URL does not parse' };
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return { outcome: 'permanent', code: 'invalid_url', message: `unsupported scheme ${target.protocol}` };
    }
    let signature: WebhookSignatureHeaders;
    try {
      signature = signWebhook({ id: delivery.id, timestamp: Math.floor(Date.now() / 1000), payload, secret });
    } catch {
      return { outcome: 'permanent', code: 'invalid_secret', message: 'the endpoint signing secret is malformed' };
    }
    const headers = { ...signature, ...(correlationId && { 'x-correlation-id': correlationId }) };
    const attempt = await this.post(target, payload, headers);
    return classifyWebhookAttempt(attempt, delivery.id);
  }

  async close(): Promise<void> {
    this.agents['http:'].destroy();
    this.agents['https:'].destroy();
  }

  /**
   * One POST, settled once: by the answer (after reading at most maxResponseBytes of its body, which
   * is then thrown away), by an error, or by the timeout, which covers connecting, waiting and
   * reading. A status that arrived before the timeout still counts.
   */
  private post(target: URL, payload: string, extraHeaders: Record<string, string>): Promise<WebhookAttempt> {
    return new Promise((resolve) => {
      let answer: Extract<WebhookAttempt, { kind: 'response' }> | undefined;
      let timedOut = false;
      const settle = (error?: unknown) => {
        clearTimeout(timer);
        if (answer) resolve(answer);
        else if (timedOut) resolve({ kind: 'timeout', timeoutMs: this.timeoutMs });
        else resolve({ kind: 'error', error: error ?? new Error('connection closed without an answer') });
      };

      const request = (target.protocol === 'https:' ? https : http).request(target, {
        method: 'POST',
        agent: this.agents[target.protocol as 'http:' | 'https:'],
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'user-agent': this.userAgent,
          ...extraHeaders,
        },
      });
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy();
      }, this.timeoutMs);

      request.on('response', (response) => {
        answer = {
          kind: 'response',
          status: response.statusCode ?? 0,
          location: response.headers.location,
          retryAfter: response.headers['retry-after'],
        };
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= this.maxResponseBytes) response.destroy();
        });
        response.on('end', () => settle());
        response.on('close', () => settle());
        response.on('error', () => settle());
      });
      request.on('error', (error) => settle(error));
      request.on('close', () => settle());
      request.end(payload);
    });
  }
}
