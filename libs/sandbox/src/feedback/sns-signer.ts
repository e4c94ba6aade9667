import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import type forgeLibrary from 'node-forge';
// Relative until @herald/channels exports the feedback module.
import { snsStringToSign, type SnsMessage, type UnsignedSnsMessage } from '@herald/channels';

/**
 * Signs SNS messages as Amazon SNS does (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA), with a
 * self-signed certificate of its own. Give SnsVerifier the certificate through `trustedCertificates`
 * or a `fetchCertificate` that answers `certUrl` with `certificatePem`.
 */
export class SnsSigner {
  private constructor(
    readonly region: string,
    /** shaped like AWS's, so it passes the verifier's host check; unique to this signer */
    readonly certUrl: string,
    readonly certificatePem: string,
    private readonly privateKey: KeyObject,
  ) {}

  static create(region = 'us-east-1'): SnsSigner {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const host = `sns.${region}.amazonaws.com`;
    const certUrl = `https://${host}/SimpleNotificationService-sandbox-${randomBytes(8).toString('hex')}.pem`;
    return new SnsSigner(region, certUrl, selfSignedCertificate(host, privateKey, publicKey), privateKey);
  }

  /** The topic its SES notifications come from unless told otherwise: put it in SES_SNS_TOPIC_ARNS. */
  get topicArn(): string {
    return `arn:aws:sns:${this.region}:123456789012:herald-ses-feedback`;
  }

  sign(fields: UnsignedSnsMessage, version: '1' | '2' = '2'): SnsMessage {
    const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(fields)), this.privateKey);
    return {
      ...fields,
      SignatureVersion: version,
      Signature: signature.toString('base64'),
      SigningCertURL: this.certUrl,
    };
  }

  /** A signed SES bounce notification for `recipients`, Permanent/General unless told otherwise. */
  sesBounce(recipients: string[], options: SesBounceOptions = {}): SnsMessage {
    const { bounceType = 'Permanent', bounceSubType = 'General', diagnosticCode } = options;
    return this.sesNotification(options, (mail, timestamp) => ({
      notificationType: 'Bounce',
      bounce: {
        feedbackId: randomUUID(),
        bounceType,
        bounceSubType,
        bouncedRecipients: recipients.map((emailAddress) => ({
          emailAddress,
          action: 'failed',
          ...(diagnosticCode && { diagnosticCode }),
        })),
        timestamp,
        reportingMTA: 'dsn; sandbox.amazonses.com',
      },
      mail: { ...mail, destination: recipients },
    }));
  }

  /** A signed SES complaint notification for `recipients` (feedback type "abuse" unless told otherwise). */
  sesComplaint(recipients: string[], options: SesComplaintOptions = {}): SnsMessage {
    const { feedbackType = 'abuse' } = options;
    return this.sesNotification(options, (mail, timestamp) => ({
      notificationType: 'Complaint',
      complaint: {
        feedbackId: randomUUID(),
        complaintFeedbackType: feedbackType,
        complainedRecipients: recipients.map((emailAddress) => ({ emailAddress })),
        timestamp,
      },
      mail: { ...mail, destination: recipients },
    }));
  }

  /** A signed SES delivery notification for `recipients`. */
  sesDelivery(recipients: string[], options: SesNotificationOptions = {}): SnsMessage {
    return this.sesNotification(options, (mail, timestamp) => ({
      notificationType: 'Delivery',
      delivery: {
        timestamp,
        recipients,
        smtpResponse: '250 2.6.0 Message received',
        reportingMTA: 'sandbox.amazonses.com',
      },
      mail: { ...mail, destination: recipients },
    }));
  }

  private sesNotification(
    { messageId = randomUUID(), timestamp = new Date(), topicArn, version, headers }: SesNotificationOptions,
    build: (mail: { timestamp: string; source: string; messageId: string }, timestamp: string) => object,
  ): SnsMessage {
    const at = timestamp.toISOString();
    return this.sign(
      {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topicArn ?? this.topicArn,
        Message: JSON.stringify(
          build({ timestamp: at, source: 'herald@example.com', messageId, ...(headers && { headers }) }, at),
        ),
        Timestamp: at,
      },
      version,
    );
  }
}

export interface SesNotificationOptions {
  /** SES's id of the mail the notification is about (`mail.messageId`) */
  messageId?: string;
  timestamp?: Date;
  topicArn?: string;
  version?: '1' | '2';
  /** the original headers, as SES includes them when told to */
  headers?: { name: string; value: string }[];
}

export interface SesBounceOptions extends SesNotificationOptions {
  bounceType?: 'Permanent' | 'Transient' | 'Undetermined';
  bounceSubType?: string;
  diagnosticCode?: string;
}

export interface SesComplaintOptions extends SesNotificationOptions {
  feedbackType?: string;
}

/**
 * Node can verify X.509 certificates but not make them, hence node-forge — loaded here, when a signer is
 * made (tests, the sandbox page), not by every process that loads this library.
 */
function selfSignedCertificate(commonName: string, privateKey: KeyObject, publicKey: KeyObject): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous, first-use load (see above)
  const forge = require('node-forge') as typeof forgeLibrary;
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial: DER integers are signed, so the first byte stays below 0x80.
  certificate.serialNumber = `01${randomBytes(8).toString('hex')}`;
  certificate.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  certificate.validity.notAfter = new Date(Date.now() + 365 * 24 * 60 * 60 * 1000);
  const name = [{ name: 'commonName', value: commonName }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(
    forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    forge.md.sha256.create(),
  );
  return forge.pki.certificateToPem(certificate);
}
