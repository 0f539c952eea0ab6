import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { workerOnly } from '../common/process-role';
import { LifecycleProcessor } from './lifecycle.processor';
import { LifecycleService } from './lifecycle.service';

/** The certification lifecycle: completion checks and the scheduled window/expiry steps. */
@Module({})
export class LifecycleModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: LifecycleModule,
      controllers: [],
      providers: [LifecycleService, ...workerOnly(config.processRole, LifecycleProcessor)],
      exports: [LifecycleService],
    };
  }
}
