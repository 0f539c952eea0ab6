import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { CertificationsController } from './certifications.controller';

@Module({})
export class CertificationsModule {
  static register(config: AppConfig): DynamicModule {
    void config;
    return { module: CertificationsModule, controllers: [CertificationsController], providers: [], exports: [] };
  }
}
