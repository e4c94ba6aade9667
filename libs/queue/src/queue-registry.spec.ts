import type { Queue } from 'bullmq';
import { QueueName } from './queue-names';
import { QueueRegistry } from './queue-registry';

describe('QueueRegistry', () => {
  const inapp = { name: 'deliver.inapp' } as Queue;
  const registry = new QueueRegistry([QueueName.DeliverInapp], [inapp]);

  it('finds a registered queue by name and a channel its delivery queue', () => {
    expect(registry.get(QueueName.DeliverInapp)).toBe(inapp);
    expect(registry.deliveryQueues('inapp')).toBe(inapp);
    expect(registry.all()).toEqual([inapp]);
  });

  it('says which queue a process asked for without registering it', () => {
    expect(() => registry.deliveryQueues('sms')).toThrow(/queue deliver\.sms is not registered in this process/);
  });
});
