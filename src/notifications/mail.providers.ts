import type { Provider, Type } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { MailLogController } from './mail-log.controller';
import { MAIL_QUEUE } from '../jobs/queues';
import { MailRelayProcessor } from './mail-relay.processor';
import { MailRelayService } from './mail-relay.service';
import { OutboxService } from './outbox.service';

/**
 * The 'mail' queue's providers, so that the outbox can wake the relay from any process (the
 * notifications module has no imports of its own). A dead worker's job is taken over within seconds.
 */
const MAIL_QUEUE_PROVIDERS =
  BullModule.registerQueue({
    name: MAIL_QUEUE,
    settings: { lockDuration: 10_000, stalledInterval: 5_000, maxStalledCount: 20 },
  }).providers ?? [];

/** The outbox, its relay and the mail log (controllers, services, worker-only processors). */
export const MAIL_CONTROLLERS: Type[] = [MailLogController];
export const MAIL_PROVIDERS: Provider[] = [...MAIL_QUEUE_PROVIDERS, OutboxService];
export const MAIL_WORKER_PROVIDERS: Provider[] = [MailRelayService, MailRelayProcessor];
