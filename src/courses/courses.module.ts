import { Module } from '@nestjs/common';
import { CompletionImportService } from './completion-import.service';
import { CoursesController } from './courses.controller';
import { CoursesService } from './courses.service';

/** Courses and the course completions upload. */
@Module({
  controllers: [CoursesController],
  providers: [CoursesService, CompletionImportService],
  exports: [CoursesService],
})
export class CoursesModule {}
