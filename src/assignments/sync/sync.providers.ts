import type { Provider } from '@nestjs/common';
import { MembershipSyncProcessor } from './membership-sync.processor';
import { MembershipSyncService } from './membership-sync.service';
import { ExceptionPolicyHandler } from './exception-policy-handler';

/** Membership sync and exception detection: services (web and worker) and queue processors (worker only). */
export const SYNC_PROVIDERS: Provider[] = [MembershipSyncService, ExceptionPolicyHandler];
export const SYNC_WORKER_PROVIDERS: Provider[] = [MembershipSyncProcessor];
