import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';

@Module({})
export class CoursesModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return { module: CoursesModule, controllers: [], providers: [], exports: [] };
  }
}
