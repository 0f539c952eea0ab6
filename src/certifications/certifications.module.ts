import { Global, Module } from '@nestjs/common';
import { CertificationsController } from './certifications.controller';
import { CertificationsService } from './certifications.service';
import { CourseSetsController } from './course-sets.controller';
import { CourseSetsService } from './course-sets.service';

/**
 * Certifications, their paths and the shared certification page header (tabs). Global, so that
 * other modules' certification tabs (assignments, reports) can use CertificationsService.page().
 */
@Global()
@Module({
  controllers: [CertificationsController, CourseSetsController],
  providers: [CertificationsService, CourseSetsService],
  exports: [CertificationsService, CourseSetsService],
})
export class CertificationsModule {}
