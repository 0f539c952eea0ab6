import { DynamicModule, Module } from '@nestjs/common';
import { CertificationsModule } from '../certifications/certifications.module';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { ExemptionsController } from './exemptions.controller';
import { ExemptionsService } from './exemptions.service';

/** Exempting learners from a certification, and the end of their exemptions (by date or by hand). */
@Module({})
export class ExemptionsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(ExemptionsModule, config, () => ({
      imports: [ConfigModule.forRoot(config), NotificationsModule.register(config), CertificationsModule.register(config)],
      controllers: [ExemptionsController],
      providers: [ExemptionsService],
      exports: [ExemptionsService],
    }));
  }
}
