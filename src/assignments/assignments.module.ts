import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { workerOnly } from '../common/process-role';
import { ASSIGNMENT_CONTROLLERS, ASSIGNMENT_PROVIDERS } from './assignments.providers';
import { SYNC_PROVIDERS, SYNC_WORKER_PROVIDERS } from './sync/sync.providers';

/** Global, so that recording a course completion (learners, courses) can ask for the syncs it calls for. */
@Module({})
export class AssignmentsModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AssignmentsModule,
      global: true,
      controllers: ASSIGNMENT_CONTROLLERS,
      providers: [...ASSIGNMENT_PROVIDERS, ...SYNC_PROVIDERS, ...workerOnly(config.processRole, ...SYNC_WORKER_PROVIDERS)],
      exports: [...ASSIGNMENT_PROVIDERS, ...SYNC_PROVIDERS],
    };
  }
}
