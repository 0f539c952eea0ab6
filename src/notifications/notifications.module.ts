import { DynamicModule, Module } from '@nestjs/common';
import { CertificationsModule } from '../certifications/certifications.module';
import { workerOnly } from '../common/process-role';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { MAIL_CONTROLLERS, MAIL_PROVIDERS, MAIL_WORKER_PROVIDERS } from './mail.providers';
import { MESSAGE_CONTROLLERS, MESSAGE_PROVIDERS, MESSAGE_WORKER_PROVIDERS } from './messages.providers';

/** Email: the outbox and its relay, the mail log, learner messages and the administrators' notice. */
@Module({})
export class NotificationsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(NotificationsModule, config, () => ({
      imports: [ConfigModule.forRoot(config), CertificationsModule.register(config)],
      controllers: [...MAIL_CONTROLLERS, ...MESSAGE_CONTROLLERS],
      providers: [
        ...MAIL_PROVIDERS,
        ...MESSAGE_PROVIDERS,
        ...workerOnly(config.processRole, ...MAIL_WORKER_PROVIDERS, ...MESSAGE_WORKER_PROVIDERS),
      ],
      exports: [...MAIL_PROVIDERS, ...MESSAGE_PROVIDERS],
    }));
  }
}
