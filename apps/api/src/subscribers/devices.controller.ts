import { Body, Controller, Delete, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { newId } from '@herald/core';
import { PrismaService } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { parse } from '../http/parse';
import { Problem } from '../http/problem';

const subscriberIdSchema = z.string().min(1).max(255);
const deviceSchema = z.strictObject({
  token: z.string().min(1).max(4096),
  platform: z.enum(['ios', 'android', 'web']),
});

/** A subscriber's push devices. Registering a token again re-activates it and moves it to this subscriber. */
@Controller('v1/subscribers/:subscriberId/devices')
@Auth('admin')
export class DevicesController {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  @Post()
  @ApiInput({ body: deviceSchema })
  async add(@TenantId() tenantId: string, @Param('subscriberId') rawId: string, @Body() body: unknown) {
    const subscriberId = parse(subscriberIdSchema, rawId, 'subscriberId');
    const { token, platform } = parse(deviceSchema, body);
    await this.prisma.subscriber.upsert({
      where: { tenantId_subscriberId: { tenantId, subscriberId } },
      create: { id: newId(), tenantId, subscriberId },
      update: {},
    });
    const reactivated = {
      subscriberId,
      platform,
      active: true,
      deactivatedReason: null,
      deactivatedAt: null,
      updatedAt: new Date(),
    };
    const device = await this.prisma.device.upsert({
      where: { tenantId_token: { tenantId, token } },
      create: { id: newId(), tenantId, subscriberId, token, platform },
      update: reactivated,
    });
    return { token: device.token, platform: device.platform, active: device.active, createdAt: device.createdAt };
  }

  @Delete(':token')
  @HttpCode(204)
  async remove(
    @TenantId() tenantId: string,
    @Param('subscriberId') subscriberId: string,
    @Param('token') token: string,
  ) {
    const { count } = await this.prisma.device.deleteMany({ where: { tenantId, subscriberId, token } });
    if (count === 0) throw Problem.notFound(`Device ${token.slice(0, 12)}…`);
  }
}
