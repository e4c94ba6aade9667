import { Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { SubscribersRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Problem } from '../http/problem';
import { ValidBody, ValidParam } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { registeredDeviceSchema } from './subscribers.contract';

const subscriberIdSchema = z.string().min(1).max(255);
const deviceSchema = z.strictObject({
  token: z.string().min(1).max(4096),
  platform: z.enum(['ios', 'android', 'web']),
});

/** A subscriber's push devices. Registering a token again re-activates it and moves it to this subscriber. */
@Controller('v1/subscribers/:subscriberId/devices')
@Auth('admin')
export class DevicesController {
  constructor(private readonly subscribers: SubscribersRepository) {}

  @Post()
  @Returns(registeredDeviceSchema)
  async add(
    @TenantId() tenantId: string,
    @ValidParam('subscriberId', subscriberIdSchema) subscriberId: string,
    @ValidBody(deviceSchema) { token, platform }: z.infer<typeof deviceSchema>,
  ) {
    const device = await this.subscribers.registerDevice(tenantId, subscriberId, token, platform);
    return { token: device.token, platform: device.platform, active: device.active, createdAt: device.createdAt };
  }

  @Delete(':token')
  @HttpCode(204)
  async remove(
    @TenantId() tenantId: string,
    @Param('subscriberId') subscriberId: string,
    @Param('token') token: string,
  ) {
    const removed = await this.subscribers.removeDevice(tenantId, subscriberId, token);
    if (!removed) throw Problem.notFound(`Device ${token.slice(0, 12)}…`);
  }
}
