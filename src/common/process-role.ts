import type { Provider } from '@nestjs/common';
import type { ProcessRole } from '../config/config';

/** Queue processors and schedules run only in a worker (or an all-in-one) process. */
export function workerOnly(role: ProcessRole, ...providers: Provider[]): Provider[] {
  return role === 'web' ? [] : providers;
}
