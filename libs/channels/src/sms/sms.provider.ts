import twilio from 'twilio';
import type { RequestOptions } from 'twilio/lib/base/RequestClient';
import type Response from 'twilio/lib/http/response';
import type { ChannelProvider, OutboundDelivery, SendResult, SmsMessage } from '../provider';
import { classifyTwilioError } from './sms-classification';

export interface SmsProviderOptions {
  accountSid: string;
  authToken: string;
  /** exactly one of from / messagingServiceSid */
  from?: string;
  messagingServiceSid?: string;
  /** e.g. the TwilioSandbox's url; https://api.twilio.com when absent */
  apiBaseUrl?: string;
  statusCallbackUrl: string;
  /** recorded with each attempt; distinct per account when a channel has fallbacks (default `twilio`) */
  name?: string;
}

/**
 * The SDK's RestException keeps only the status and body of a failed response, so Retry-After
 * would be lost; this client throws the same exception for a 429 with the headers attached.
 */
class RateLimitAwareRequestClient extends twilio.RequestClient {
  override async request<TData>(opts: RequestOptions<TData>): Promise<Response<TData>> {
    const response = await super.request(opts);
    if (response.statusCode === 429) {
      throw Object.assign(new twilio.RestException(response), { headers: response.headers });
    }
    return response;
  }
}

/** SMS through Twilio's Programmable Messaging API, with the official SDK. */
export class SmsProvider implements ChannelProvider<'sms'> {
  readonly channel = 'sms' as const;
  readonly name: string;
  private readonly client: twilio.Twilio;
  private readonly sender: { from: string } | { messagingServiceSid: string };

  constructor(private readonly options: SmsProviderOptions) {
    this.name = options.name ?? 'twilio';
    const { from, messagingServiceSid } = options;
    if (from && !messagingServiceSid) this.sender = { from };
    else if (messagingServiceSid && !from) this.sender = { messagingServiceSid };
    else throw new Error('SmsProvider needs exactly one of from or messagingServiceSid');

    this.client = twilio(options.accountSid, options.authToken, {
      httpClient: new RateLimitAwareRequestClient(),
      // The SDK rewrites hostnames for an edge/region (also from TWILIO_EDGE / TWILIO_REGION),
      // which would mangle a custom base such as 127.0.0.1; '' stops the env fallback.
      ...(options.apiBaseUrl && { edge: '', region: '' }),
    });
    if (options.apiBaseUrl) this.client.api.baseUrl = options.apiBaseUrl;
  }

  async send(_delivery: OutboundDelivery, message: SmsMessage): Promise<SendResult> {
    try {
      const sent = await this.client.messages.create({
        to: message.to,
        body: message.body,
        statusCallback: this.options.statusCallbackUrl,
        ...(message.from ? { from: message.from } : this.sender),
      });
      return { outcome: 'ok', providerMessageId: sent.sid };
    } catch (err) {
      return classifyTwilioError(err);
    }
  }
}
