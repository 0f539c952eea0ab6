import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';

@Module({})
export class LifecycleModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return { module: LifecycleModule, controllers: [], providers: [], exports: [] };
  }
}
