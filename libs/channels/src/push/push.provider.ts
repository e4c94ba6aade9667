import { randomUUID } from 'node:crypto';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type BatchResponse, type Messaging } from 'firebase-admin/messaging';
import type { ChannelProvider, OutboundDelivery, PushMessage, SendResult, TargetResult } from '../provider';
import { LocalEndpointAgent, localEndpointCredential } from './local-fcm-endpoint';
import { classifyFcmError } from './push-classification';

export interface PushProviderOptions {
  projectId: string;
  /** a Google service-account key file; without it and with apiBaseUrl, the endpoint's token URL is used */
  serviceAccountPath?: string;
  /** send to this origin instead of Google (e.g. the FCM sandbox at http://127.0.0.1:PORT) */
  apiBaseUrl?: string;
  /** the firebase-admin app name; unique per provider by default so several can live in one process */
  appName?: string;
}

/** firebase-admin refuses multicasts of more than 500 tokens. */
const MAX_TOKENS_PER_CALL = 500;

/** Push through FCM HTTP v1 with firebase-admin, one result per device token. */
export class PushProvider implements ChannelProvider<'push'> {
  readonly channel = 'push' as const;
  readonly name = 'fcm';
  private readonly app: App;
  private readonly messaging: Messaging;
  private readonly agent?: LocalEndpointAgent;

  constructor(options: PushProviderOptions) {
    const { projectId, serviceAccountPath, apiBaseUrl } = options;
    this.agent = apiBaseUrl ? new LocalEndpointAgent(apiBaseUrl) : undefined;
    // A key file path, not a parsed key: for an object cert() drops the agent from the token exchange.
    const credential = serviceAccountPath
      ? cert(serviceAccountPath, this.agent)
      : apiBaseUrl && localEndpointCredential(apiBaseUrl);
    if (!credential) throw new Error('PushProvider needs serviceAccountPath, or apiBaseUrl for a local FCM endpoint');
    this.app = initializeApp(
      { projectId, credential, ...(this.agent && { httpAgent: this.agent }) },
      options.appName ?? `herald-fcm-${randomUUID()}`,
    );
    this.messaging = getMessaging(this.app);
    // Only HTTP/1.1 goes through the agent; against Google the default HTTP/2 transport is kept.
    if (this.agent) this.messaging.enableLegacyHttpTransport();
  }

  async send(_delivery: OutboundDelivery, message: PushMessage): Promise<SendResult> {
    if (message.tokens.length === 0) return { outcome: 'permanent', message: 'no device tokens', targets: [] };
    const results: TokenResult[] = [];
    for (let i = 0; i < message.tokens.length; i += MAX_TOKENS_PER_CALL) {
      results.push(...(await this.sendBatch(message, message.tokens.slice(i, i + MAX_TOKENS_PER_CALL))));
    }
    return summarise(results);
  }

  async close(): Promise<void> {
    await deleteApp(this.app);
    this.agent?.destroy();
  }

  private async sendBatch(message: PushMessage, tokens: string[]): Promise<TokenResult[]> {
    let batch: BatchResponse;
    try {
      batch = await this.messaging.sendEachForMulticast({
        tokens,
        notification: { title: message.title, body: message.body },
        ...(message.data && { data: message.data }),
      });
    } catch (err) {
      // An HTTP/2 session failure still carries the answers to the requests already made: using them
      // keeps the tokens FCM accepted from being sent to twice on retry.
      const pending = (err as { pendingBatchResponse?: Promise<BatchResponse> } | null)?.pendingBatchResponse;
      if (!pending) return tokens.map((target) => ({ target, ...classifyFcmError(err) }));
      batch = await pending;
    }
    return batch.responses.map((response, i) =>
      response.success
        ? { target: tokens[i], outcome: 'ok', providerMessageId: response.messageId }
        : { target: tokens[i], ...classifyFcmError(response.error) },
    );
  }
}

type TokenResult = TargetResult & { retryAfterMs?: number };

/**
 * One outcome for the delivery: sent if any device took it; else retried if any failure may pass
 * (after the longest wait asked for); a bad address only when every token is dead; else permanent.
 */
function summarise(results: TokenResult[]): SendResult {
  const targets = results.map(({ retryAfterMs: _, ...target }) => target);
  const accepted = targets.filter((t) => t.outcome === 'ok');
  if (accepted.length > 0) {
    return {
      outcome: 'ok',
      providerMessageId: accepted[0].providerMessageId,
      ...(accepted.length < targets.length && {
        message: `${accepted.length} of ${targets.length} device tokens accepted`,
      }),
      targets,
    };
  }
  const retryable = results.filter((r) => r.outcome === 'retryable');
  const first = retryable[0] ?? results.find((r) => r.outcome !== 'bad_address') ?? results[0];
  const waits = retryable.flatMap((r) => (r.retryAfterMs === undefined ? [] : [r.retryAfterMs]));
  return {
    outcome: first.outcome,
    code: first.code,
    message: first.message,
    ...(waits.length > 0 && { retryAfterMs: Math.max(...waits) }),
    targets,
  };
}
