import type { Provider, Type } from '@nestjs/common';
import { BullModule } from '@nestjs/bull';
import { AccountController } from './account.controller';
import { ADMIN_NOTICES_QUEUE, LEARNER_MESSAGES_QUEUE } from '../jobs/queues';
import { AdminNoticeProcessor } from './admin-notice.processor';
import { AdminNoticeService } from './admin-notice.service';
import { LearnerMessagesProcessor } from './learner-messages.processor';
import { LearnerMessagesService } from './learner-messages.service';
import { MessageTemplatesController } from './message-templates.controller';
import { MessageTemplatesService } from './message-templates.service';

/** Learner messages (Messages tab, sweep, catch-up) and the administrators' notice. */
export const MESSAGE_CONTROLLERS: Type[] = [MessageTemplatesController, AccountController];
export const MESSAGE_PROVIDERS: Provider[] = [MessageTemplatesService, LearnerMessagesService, AdminNoticeService];
/** The schedules' queues exist only where their processors run (the web side never adds to them). */
export const MESSAGE_WORKER_PROVIDERS: Provider[] = [
  ...(BullModule.registerQueue({ name: LEARNER_MESSAGES_QUEUE }, { name: ADMIN_NOTICES_QUEUE }).providers ?? []),
  LearnerMessagesProcessor,
  AdminNoticeProcessor,
];
