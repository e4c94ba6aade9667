import { z } from 'zod';
import { FeedbackRejected, parseFeedback } from './feedback-signal';

describe('parseFeedback', () => {
  const schema = z.array(z.object({ to: z.object({ email: z.string() }) }));

  it('returns the parsed value', () => {
    expect(parseFeedback(schema, [{ to: { email: 'a@example.com' } }], 'events')).toEqual([
      { to: { email: 'a@example.com' } },
    ]);
  });

  it('rejects with a 400 naming the first bad field as a path', () => {
    const parsing = () => parseFeedback(schema, [{ to: { email: 'a@example.com' } }, { to: {} }], 'events');
    expect(parsing).toThrow(FeedbackRejected);
    expect(parsing).toThrow(
      expect.objectContaining({ status: 400, message: expect.stringMatching(/^events: \[1\]\.to\.email: /) }),
    );
  });

  it('names no path when the whole input is wrong', () => {
    expect(() => parseFeedback(schema, 'nope', 'events')).toThrow(/^events: [^[]/);
  });
});
