import { deliveryId, isUuid } from './ids';

describe('deliveryId', () => {
  it('is a stable UUID for the same event, recipient and channel', () => {
    const id = deliveryId('e1', 'alice', 'inapp');
    expect(isUuid(id)).toBe(true);
    expect(deliveryId('e1', 'alice', 'inapp')).toBe(id);
  });

  it('differs when any part differs, including where the parts split', () => {
    const ids = new Set([
      deliveryId('e1', 'alice', 'inapp'),
      deliveryId('e2', 'alice', 'inapp'),
      deliveryId('e1', 'bob', 'inapp'),
      deliveryId('e1', 'alice', 'email'),
      deliveryId('e1a', 'lice', 'inapp'),
    ]);
    expect(ids.size).toBe(5);
  });
});
