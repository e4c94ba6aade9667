import { createPublicKey } from 'node:crypto';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER, verifySendgridSignature } from '@herald/channels';
import { SendgridSigner } from './sendgrid-signer';

describe('SendgridSigner', () => {
  it('shows its public key as SendGrid does: base64 DER SPKI of a P-256 key', () => {
    const signer = new SendgridSigner();
    expect(signer.publicKey).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    const key = createPublicKey({ key: Buffer.from(signer.publicKey, 'base64'), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('signs with the current time by default, in headers that verify', () => {
    const signer = new SendgridSigner();
    const payload = '[{"event":"delivered","email":"a@example.com"}]';
    const before = Math.floor(Date.now() / 1000);
    const { headers } = signer.sign(payload);
    const timestamp = Number(headers[SENDGRID_TIMESTAMP_HEADER]);
    expect(timestamp).toBeGreaterThanOrEqual(before);
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(() =>
      verifySendgridSignature(
        signer.publicKey,
        payload,
        headers[SENDGRID_SIGNATURE_HEADER],
        headers[SENDGRID_TIMESTAMP_HEADER],
      ),
    ).not.toThrow();
  });

  it('signs with the timestamp it is given', () => {
    expect(new SendgridSigner().sign('[]', 1772366400).headers[SENDGRID_TIMESTAMP_HEADER]).toBe('1772366400');
  });
});
