import { compile } from 'html-to-text';
import { createTransport, type SMTPPoolSentMessageInfo, type Transporter } from 'nodemailer';
import type { ChannelProvider, EmailMessage, OutboundDelivery, SendResult } from '../provider';
import { classifySmtpError } from './email-classification';

const htmlToText = compile();

export interface EmailProviderOptions {
  /** smtp://user:pass@host:port or smtps://…; query parameters set nodemailer options (?socketTimeout=5000) */
  smtpUrl: string;
  from: string;
  /** recorded with each attempt; distinct per server when a channel has fallbacks (default `smtp`) */
  name?: string;
}

/** Email over SMTP, through one pool of connections reused across deliveries. */
export class EmailProvider implements ChannelProvider<'email'> {
  readonly channel = 'email' as const;
  readonly name: string;
  private readonly transport: Transporter<SMTPPoolSentMessageInfo>;

  constructor(private readonly options: EmailProviderOptions) {
    this.name = options.name ?? 'smtp';
    try {
      this.transport = createTransport({
        url: options.smtpUrl,
        pool: true,
        // nodemailer waits up to 2 minutes to connect and 10 minutes on a silent server, holding a worker
        // slot all along; the URL's own parameters still win
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
        // A message whose connection closed mid-send (a 421, a dropped socket) is not re-sent behind
        // our back: it comes back as a retryable answer, so every try is an attempt row and counts
        // against the delivery's retry budget.
        maxRequeues: 0,
      });
    } catch {
      // nodemailer's URL errors carry the URL, credentials included
      throw new Error('EmailProvider: smtpUrl is not a valid smtp:// or smtps:// URL');
    }
  }

  async send(delivery: OutboundDelivery, message: EmailMessage): Promise<SendResult> {
    let info: SMTPPoolSentMessageInfo;
    try {
      info = await this.transport.sendMail({
        from: this.options.from,
        to: message.to,
        subject: message.subject,
        html: message.html,
        text: message.text ?? (message.html === undefined ? undefined : htmlToText(message.html)),
        // the same on every attempt, so a receiver can drop the copy of an attempt we only thought had failed
        messageId: `<${delivery.id}@herald>`,
        headers: { 'X-Herald-Delivery-Id': delivery.id },
      });
    } catch (err) {
      return classifySmtpError(err);
    }
    // Microsoft 365 and SES replace the Message-ID; theirs is the one bounces and complaints will quote
    const providerMessageId = info.serverMessageId ?? info.messageId;
    if (info.rejected.length > 0) {
      // The other recipients took the message, so retrying would send it to them twice: the refused one failed.
      const { code, message: reason } = classifySmtpError(info.rejectedErrors?.[0] ?? new Error('recipient refused'));
      return { outcome: 'bad_address', providerMessageId, code, message: reason };
    }
    return { outcome: 'ok', providerMessageId };
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}
