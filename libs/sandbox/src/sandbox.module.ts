import { Global, Module } from '@nestjs/common';
import { SandboxHub } from './sandbox-hub';

@Global()
@Module({ providers: [SandboxHub], exports: [SandboxHub] })
export class SandboxModule {}
