import { DynamicModule, Module } from '@nestjs/common';
import { workerOnly } from '../common/process-role';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { JobsModule } from '../jobs/jobs.module';
import { ExemptionsModule } from '../exemptions/exemptions.module';
import { LifecycleProcessor } from './lifecycle.processor';
import { LifecycleService } from './lifecycle.service';

/** The certification lifecycle: completion checks and the scheduled window/expiry steps. */
@Module({})
export class LifecycleModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(LifecycleModule, config, () => ({
      imports: [ConfigModule.forRoot(config), JobsModule, ExemptionsModule.register(config)],
      providers: [LifecycleService, ...workerOnly(config.processRole, LifecycleProcessor)],
      exports: [LifecycleService],
    }));
  }
}
