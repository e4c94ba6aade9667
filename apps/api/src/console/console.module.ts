import { Module } from '@nestjs/common';
import { ConsoleFiles } from './console-files';
import { ConsoleController } from './console.controller';

/** Serves the operator console's built files at /console (left out of the OpenAPI document). */
@Module({
  controllers: [ConsoleController],
  providers: [{ provide: ConsoleFiles, useFactory: () => new ConsoleFiles() }],
})
export class ConsoleModule {}
