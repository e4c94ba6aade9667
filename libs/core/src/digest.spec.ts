import { digestKeyOf, digestSchema } from './digest';

describe('digestKeyOf', () => {
  it('is the event type without a key', () => {
    expect(digestKeyOf({ windowSeconds: 60 }, 'comment.created', { project: { id: 'p1' } })).toBe('comment.created');
  });

  it('adds the value at the key path', () => {
    const config = { windowSeconds: 60, key: 'project.id' };
    expect(digestKeyOf(config, 'comment.created', { project: { id: 'p1' } })).toBe('comment.created|project.id="p1"');
    expect(digestKeyOf(config, 'comment.created', {})).toBe('comment.created|project.id=null');
  });

  it('validates windows and paths', () => {
    expect(digestSchema.safeParse({ windowSeconds: 0 }).success).toBe(false);
    expect(digestSchema.safeParse({ windowSeconds: 2, key: 'a..b' }).success).toBe(false);
  });
});
