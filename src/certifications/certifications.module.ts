import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { ConfigModule, registerOnce } from '../config/config.module';
import { JobsModule } from '../jobs/jobs.module';
import { CertificationsController } from './certifications.controller';
import { CertificationsService } from './certifications.service';
import { CourseSetsController } from './course-sets.controller';
import { CourseSetsService } from './course-sets.service';

/**
 * Certifications, their paths and the shared certification page header (tabs), which the other
 * modules' certification tabs (assignments, reports, exceptions, messages) import.
 */
@Module({})
export class CertificationsModule {
  static register(config: AppConfig): DynamicModule {
    return registerOnce(CertificationsModule, config, () => ({
      imports: [ConfigModule.forRoot(config), JobsModule],
      controllers: [CertificationsController, CourseSetsController],
      providers: [CertificationsService, CourseSetsService],
      exports: [CertificationsService, CourseSetsService],
    }));
  }
}
