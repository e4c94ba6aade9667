import { Body, Controller, Header, HttpCode, Inject, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import twilio from 'twilio';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import {
  FeedbackRejected,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  SnsVerifier,
  genericSignal,
  parseSnsMessage,
  sendgridSignals,
  sesSignals,
  verifySendgridSignature,
  verifyWebhook,
} from '@herald/channels';
import { FeedbackEventsRepository } from '@herald/db';
import { SandboxHub } from '@herald/sandbox';
import { Problem } from '../http/problem';
import { DUPLICATE_OUTCOME, EmailFeedbackService } from './email-feedback.service';
import { SmsFeedbackService, type StatusCallback } from './sms-feedback.service';

type RawRequest = FastifyRequest & { rawBody?: Buffer };

/**
 * Where providers report back. No Herald key: each request is authenticated by the provider's own
 * signature, and a request that fails it changes nothing (401). Bodies are kept, secrets removed.
 */
@Controller('v1/feedback')
export class FeedbackController {
  private readonly sns: SnsVerifier;

  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly email: EmailFeedbackService,
    private readonly sms: SmsFeedbackService,
    private readonly sandboxes: SandboxHub,
    private readonly feedbackEvents: FeedbackEventsRepository,
  ) {
    const trusted = config.feedback.snsTrustedCertificate;
    this.sns = new SnsVerifier({
      trustedCertificates: trusted ? { [trusted.url]: readFileSync(trusted.file, 'utf8') } : undefined,
    });
  }

  @Post('twilio/status')
  @HttpCode(204)
  async twilioStatus(@Req() request: RawRequest, @Body() body: unknown): Promise<void> {
    await this.sms.status(this.twilioParams(request, body));
  }

  @Post('twilio/inbound')
  @HttpCode(200)
  @Header('content-type', 'text/xml; charset=utf-8')
  async twilioInbound(@Req() request: RawRequest, @Body() body: unknown): Promise<string> {
    await this.sms.inbound(this.twilioParams(request, body));
    // An empty TwiML answer: Herald records the keyword; Twilio's own STOP handling replies to the person.
    return '<?xml version="1.0" encoding="UTF-8"?><Response/>';
  }

  /**
   * SNS messages from the topics in SES_SNS_TOPIC_ARNS only: anyone can sign SNS messages on a topic
   * of their own AWS account, so a valid signature alone proves nothing about whose mail it reports.
   * Each SNS MessageId acts once (SNS retries until it gets a 2xx).
   */
  @Post('email/ses')
  @HttpCode(200)
  async ses(@Body() body: unknown) {
    const topics = this.config.feedback.sesTopicArns;
    if (topics.length === 0) throw notConfigured('SES_SNS_TOPIC_ARNS');
    const message = await rejecting(async () => {
      const parsed = parseSnsMessage(typeof body === 'string' ? parseJson(body) : body);
      await this.sns.verify(parsed);
      return parsed;
    });
    if (!topics.includes(message.TopicArn)) {
      throw rejected(403, `TopicArn ${message.TopicArn} is not one of SES_SNS_TOPIC_ARNS`);
    }
    if (message.Type === 'Notification') {
      const signals = await rejecting(async () => sesSignals(message));
      const outcomes = await this.email.apply(signals, message, message.MessageId);
      return { received: outcomes.length, outcomes };
    }
    return { received: 1, outcomes: [await this.subscription(message)] };
  }

  @Post('email/sendgrid')
  @HttpCode(200)
  async sendgrid(@Req() request: RawRequest, @Body() body: unknown) {
    const publicKey = this.config.feedback.sendgridPublicKey;
    if (!publicKey) throw notConfigured('SENDGRID_WEBHOOK_PUBLIC_KEY');
    const signals = await rejecting(async () => {
      verifySendgridSignature(
        publicKey,
        request.rawBody ?? '',
        header(request, SENDGRID_SIGNATURE_HEADER),
        header(request, SENDGRID_TIMESTAMP_HEADER),
      );
      return sendgridSignals(body);
    });
    const outcomes = [];
    // Each event acts once: SendGrid retries a batch whole, with the same sg_event_id per event.
    for (const signal of signals) outcomes.push(...(await this.email.apply([signal], body, signal.eventId)));
    return { received: outcomes.length, outcomes };
  }

  @Post('email')
  @HttpCode(200)
  async generic(@Req() request: RawRequest, @Body() body: unknown) {
    const secret = this.config.feedback.genericSecret;
    if (!secret) throw notConfigured('FEEDBACK_WEBHOOK_SECRET');
    const verification = verifyWebhook(request.headers, request.rawBody ?? '', secret);
    if (!verification.valid) throw rejected(401, `signature: ${verification.reason}`);
    const signal = await rejecting(async () => genericSignal(body));
    // Standard Webhooks: a resent message keeps its webhook-id (checked by the signature), so it acts once.
    const outcomes = await this.email.apply([signal], body, header(request, 'webhook-id') || undefined);
    return { received: 1, outcomes };
  }

  private twilioParams(request: RawRequest, body: unknown): StatusCallback {
    const authTokens = this.twilioAuthTokens();
    if (authTokens.length === 0) throw notConfigured('TWILIO_ACCOUNT_SID');
    if (!body || typeof body !== 'object') throw rejected(400, 'expects a form-encoded Twilio callback');
    const params = body as StatusCallback;
    // Twilio signs the URL it was given (Herald's public URL), not the one this process sees.
    const url = `${this.config.publicUrl}${request.url}`;
    const signature = header(request, 'x-twilio-signature');
    if (!authTokens.some((token) => twilio.validateRequest(token, signature, url, params))) {
      throw rejected(401, 'X-Twilio-Signature does not match');
    }
    return params;
  }

  /**
   * The auth tokens a Twilio callback may be signed with: each account signs the callbacks of the
   * messages it sent (the configured one and its fallbacks). With no account and the sandboxes on,
   * the sandbox's token, derived from the root key (reading it starts no sandbox). None: no Twilio here.
   */
  private twilioAuthTokens(): string[] {
    const sandbox = this.config.sandbox ? this.sandboxes.twilioAuthToken : undefined;
    const primary = this.config.providers.sms?.authToken ?? sandbox;
    const fallbacks = this.config.providers.fallbacks.sms.map((account) => account.authToken);
    return primary ? [primary, ...fallbacks] : fallbacks;
  }

  /** SNS asks to confirm a subscription first: recorded for the operator, confirmed if allowed. */
  private async subscription(message: {
    Type: string;
    MessageId: string;
    SubscribeURL?: string;
    TopicArn?: string;
  }): Promise<string> {
    let outcome = `noted: ${message.Type}`;
    if (message.Type === 'SubscriptionConfirmation') {
      if (this.config.feedback.sesAutoConfirm && message.SubscribeURL) {
        // The URL is signed by the verified message, and SNS only hands out amazonaws.com ones.
        const confirmed = await fetch(message.SubscribeURL, { signal: AbortSignal.timeout(5000) }).then(
          (r) => r.ok,
          () => false,
        );
        outcome = confirmed ? 'subscription confirmed' : 'subscription confirmation failed';
      } else {
        outcome = 'subscription pending: open SubscribeURL to confirm';
      }
    }
    const recorded = await this.feedbackEvents.record({
      tenantId: null,
      source: 'ses',
      kind: message.Type,
      channel: 'email',
      outcome,
      payload: message,
      messageId: message.MessageId,
    });
    // A retried confirmation was confirmed (or noted) already; confirming again is harmless at AWS.
    return recorded ? outcome : DUPLICATE_OUTCOME;
  }
}

function header(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new FeedbackRejected(400, 'the body is not JSON');
  }
}

/** Runs provider parsing/verification, turning its refusals into problem+json answers. */
async function rejecting<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FeedbackRejected) throw rejected(err.status, err.message);
    throw err;
  }
}

function rejected(status: 400 | 401 | 403, detail: string): Problem {
  return new Problem(status, 'feedback-rejected', 'Feedback rejected', detail);
}

function notConfigured(setting: string): Problem {
  return new Problem(404, 'feedback-not-configured', 'Not configured', `${setting} is not set`);
}
