import { X509Certificate } from 'node:crypto';
import { parseSnsMessage, sesSignals, SnsVerifier } from '@herald/channels';
import { SnsSigner } from './sns-signer';

describe('SnsSigner', () => {
  let signer: SnsSigner;

  beforeAll(() => {
    signer = SnsSigner.create('ap-southeast-2');
  });

  it('makes a self-signed X.509 certificate, valid now', () => {
    const certificate = new X509Certificate(signer.certificatePem);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(certificate.subject).toBe('CN=sns.ap-southeast-2.amazonaws.com');
    expect(new Date(certificate.validFrom).getTime()).toBeLessThan(Date.now());
    expect(new Date(certificate.validTo).getTime()).toBeGreaterThan(Date.now());
    expect(certificate.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it("gives a certificate URL shaped like AWS's for its region, different for each signer", () => {
    expect(signer.certUrl).toMatch(
      /^https:\/\/sns\.ap-southeast-2\.amazonaws\.com\/SimpleNotificationService-sandbox-[0-9a-f]{16}\.pem$/,
    );
    expect(SnsSigner.create().certUrl).toMatch(/^https:\/\/sns\.us-east-1\.amazonaws\.com\//);
    expect(SnsSigner.create().certUrl).not.toBe(signer.certUrl);
  });

  it.each(['1', '2'] as const)('signs messages that parse and verify (SignatureVersion %s)', async (version) => {
    const message = signer.sesBounce(['a@example.com'], { version });
    expect(parseSnsMessage(JSON.parse(JSON.stringify(message)))).toEqual(message);
    expect(message).toMatchObject({ SignatureVersion: version, SigningCertURL: signer.certUrl });
    const verifier = new SnsVerifier({ trustedCertificates: { [signer.certUrl]: signer.certificatePem } });
    await expect(verifier.verify(message)).resolves.toBeUndefined();
  });

  it('builds SES notifications with the given mail id, topic and time', () => {
    const timestamp = new Date('2026-03-01T12:00:00Z');
    const message = signer.sesComplaint(['a@example.com'], {
      messageId: 'ses-1',
      topicArn: 'arn:aws:sns:ap-southeast-2:1:t',
      timestamp,
      feedbackType: 'not-spam',
    });
    expect(message).toMatchObject({ Type: 'Notification', TopicArn: 'arn:aws:sns:ap-southeast-2:1:t' });
    expect(message.Timestamp).toBe('2026-03-01T12:00:00.000Z');
    expect(JSON.parse(message.Message)).toMatchObject({
      notificationType: 'Complaint',
      complaint: { complaintFeedbackType: 'not-spam', complainedRecipients: [{ emailAddress: 'a@example.com' }] },
      mail: { messageId: 'ses-1', destination: ['a@example.com'] },
    });
    expect(sesSignals(message)).toEqual([
      expect.objectContaining({ kind: 'complaint', reason: 'Complaint: not-spam' }),
    ]);
  });

  it('defaults a bounce to Permanent/General and leaves out the diagnostic code unless given', () => {
    const { bounce } = JSON.parse(signer.sesBounce(['a@example.com']).Message);
    expect(bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General' });
    expect(bounce.bouncedRecipients).toEqual([{ emailAddress: 'a@example.com', action: 'failed' }]);
  });
});
