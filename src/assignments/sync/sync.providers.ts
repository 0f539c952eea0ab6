import type { Provider } from '@nestjs/common';
import { MembershipSyncProcessor } from './membership-sync.processor';
import { MembershipSyncService } from './membership-sync.service';

/** Membership sync and exception detection: services (web and worker) and queue processors (worker only). */
export const SYNC_PROVIDERS: Provider[] = [MembershipSyncService];
export const SYNC_WORKER_PROVIDERS: Provider[] = [MembershipSyncProcessor];
