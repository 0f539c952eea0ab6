import { DynamicModule, Module } from '@nestjs/common';
import { CertificationsModule } from '../certifications/certifications.module';
import { workerOnly } from '../common/process-role';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { JobsModule } from '../jobs/jobs.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { ASSIGNMENT_CONTROLLERS, ASSIGNMENT_PROVIDERS } from './assignments.providers';
import { SYNC_PROVIDERS, SYNC_WORKER_PROVIDERS } from './sync/sync.providers';

/** Assignments and membership sync; recording a course completion (learners, courses) imports it to ask for syncs. */
@Module({})
export class AssignmentsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(AssignmentsModule, config, () => ({
      imports: [ConfigModule.forRoot(config), JobsModule, CertificationsModule.register(config), NotificationsModule.register(config)],
      controllers: ASSIGNMENT_CONTROLLERS,
      providers: [...ASSIGNMENT_PROVIDERS, ...SYNC_PROVIDERS, ...workerOnly(config.processRole, ...SYNC_WORKER_PROVIDERS)],
      exports: [...ASSIGNMENT_PROVIDERS, ...SYNC_PROVIDERS],
    }));
  }
}
