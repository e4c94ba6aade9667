import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER } from '@herald/channels';

// A type rather than an interface, so the headers can be passed where any header record goes.
export type SendgridSignedHeaders = {
  [SENDGRID_SIGNATURE_HEADER]: string;
  [SENDGRID_TIMESTAMP_HEADER]: string;
};

/** Signs Event Webhook bodies as SendGrid does: ECDSA P-256 with SHA-256 over `timestamp + payload`. */
export class SendgridSigner {
  /** the verification key as SendGrid's settings page shows it: base64 DER (SPKI), no PEM armour */
  readonly publicKey: string;
  private readonly privateKey: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.privateKey = privateKey;
    this.publicKey = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  }

  /** `timestamp` is unix seconds. */
  sign(payload: string, timestamp = Math.floor(Date.now() / 1000)): { headers: SendgridSignedHeaders } {
    const signature = sign('sha256', Buffer.from(`${timestamp}${payload}`), {
      key: this.privateKey,
      dsaEncoding: 'der',
    });
    return {
      headers: {
        [SENDGRID_SIGNATURE_HEADER]: signature.toString('base64'),
        [SENDGRID_TIMESTAMP_HEADER]: String(timestamp),
      },
    };
  }
}
