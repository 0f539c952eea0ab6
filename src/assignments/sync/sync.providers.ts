import type { Type } from '@nestjs/common';
import { MembershipSyncProcessor } from './membership-sync.processor';
import { MembershipSyncService } from './membership-sync.service';

/** Membership sync and exception detection: services (web and worker) and queue processors (worker only). */
export const SYNC_PROVIDERS: Type[] = [MembershipSyncService];
export const SYNC_WORKER_PROVIDERS: Type[] = [MembershipSyncProcessor];
