import { genericSignal } from './generic-feedback';

describe('genericSignal', () => {
  it('reads a bounce as permanent unless told otherwise', () => {
    expect(
      genericSignal({ type: 'bounce', email: 'Alice@Example.com', messageId: 'm-1', reason: '550 no such user' }),
    ).toEqual({
      kind: 'bounce',
      permanent: true,
      channel: 'email',
      address: 'Alice@Example.com',
      providerMessageId: 'm-1',
      reason: '550 no such user',
      source: 'generic',
    });
  });

  it('reads a transient bounce and gives a default reason', () => {
    expect(genericSignal({ type: 'bounce', permanent: false, email: 'a@example.com' })).toMatchObject({
      kind: 'bounce',
      permanent: false,
      reason: 'transient bounce',
      providerMessageId: undefined,
    });
    expect(genericSignal({ type: 'bounce', email: 'a@example.com' }).reason).toBe('permanent bounce');
  });

  it('reads a complaint as permanent', () => {
    expect(genericSignal({ type: 'complaint', email: 'a@example.com' })).toMatchObject({
      kind: 'complaint',
      permanent: true,
      reason: 'complaint',
    });
  });

  it.each([
    ['a body that is not an object', 'bounce', /^feedback: /],
    ['an unknown type', { type: 'delivered', email: 'a@example.com' }, /^feedback: type: /],
    ['a missing email', { type: 'bounce' }, /^feedback: email: /],
    ['an email that is not one', { type: 'bounce', email: 'not-an-address' }, /^feedback: email: /],
    [
      'a permanent flag that is not a boolean',
      { type: 'bounce', email: 'a@example.com', permanent: 'yes' },
      /permanent/,
    ],
    ['permanent on a complaint', { type: 'complaint', email: 'a@example.com', permanent: false }, /permanent: applies/],
    ['an unknown field', { type: 'bounce', email: 'a@example.com', recipient: 'b@example.com' }, /recipient/],
    ['an empty messageId', { type: 'bounce', email: 'a@example.com', messageId: '' }, /messageId/],
  ])('rejects %s with a 400 naming the field', (_, body, message) => {
    expect(() => genericSignal(body)).toThrow(
      expect.objectContaining({ name: 'FeedbackRejected', status: 400, message: expect.stringMatching(message) }),
    );
  });
});
