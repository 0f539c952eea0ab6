import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { BullModule } from '@nestjs/bull';
import { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { ormConfig } from './database/mikro-orm.config';
import { AuthController } from './auth/auth.controller';
import { SignInSessions } from './auth/sign-in-sessions';
import { WorkerHealth } from './health/worker-health';
import { ProxySignIn } from './auth/proxy-sign-in';
import { SignedOutController } from './auth/signed-out.controller';
import { OidcController } from './auth/oidc.controller';
import { OidcService } from './auth/oidc.service';
import { AuthGuard } from './auth/auth.guard';
import { StaffController } from './auth/staff.controller';
import { StaffService } from './auth/staff.service';
import { ErrorPageFilter } from './common/error.filter';
import { workerOnly } from './common/process-role';
import { HealthController } from './health/health.controller';
import { MAINTENANCE_QUEUE } from './jobs/queues';
import { MaintenanceProcessor } from './jobs/maintenance.processor';
import { redisRetryDelay } from './jobs/redis-reconnect';
import { MaintenanceService } from './jobs/maintenance.service';
import { CertificationsModule } from './certifications/certifications.module';
import { LearnersModule } from './learners/learners.module';
import { CoursesModule } from './courses/courses.module';
import { AssignmentsModule } from './assignments/assignments.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { ExceptionsModule } from './exceptions/exceptions.module';
import { ReportsModule } from './reports/reports.module';
import { NotificationsModule } from './notifications/notifications.module';
import { SessionPool } from './database/session-pool';
import { ExemptionsModule } from './exemptions/exemptions.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        MikroOrmModule.forRoot({ ...ormConfig(config.databaseUrl), registerRequestContext: true }),
        BullModule.forRoot({
          url: config.redisUrl,
          redis: { retryStrategy: redisRetryDelay },
          prefix: config.redisPrefix,
          defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000 },
        }),
        BullModule.registerQueue({ name: MAINTENANCE_QUEUE }),
        NotificationsModule.register(config),
        ExceptionsModule.register(config),
        ReportsModule.register(config),
        LearnersModule.register(config),
        CoursesModule.register(config),
        CertificationsModule.register(config),
        AssignmentsModule.register(config),
        LifecycleModule.register(config),
        ExemptionsModule.register(config),
      ],
      controllers: [AuthController, StaffController, SignedOutController, HealthController, OidcController],
      providers: [
        StaffService,
        SignInSessions,
        ProxySignIn,
        OidcService,
        MaintenanceService,
        SessionPool,
        WorkerHealth,
        ...workerOnly(config.processRole, MaintenanceProcessor),
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ErrorPageFilter },
      ],
    };
  }
}
