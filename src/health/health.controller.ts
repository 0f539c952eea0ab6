import { Controller, Get, Res } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Response } from 'express';
import { EntityManager } from '@mikro-orm/postgresql';
import { Public } from '../auth/auth.decorators';
import { MAINTENANCE_QUEUE } from '../jobs/queues';
import { serviceStates } from './service-checks';

@Controller('health')
export class HealthController {
  constructor(
    private readonly em: EntityManager,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
  ) {}

  @Public()
  @Get()
  async health(@Res() res: Response) {
    const { postgres, redis } = await serviceStates(this.em, this.queue);
    const ok = postgres === 'up' && redis === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', postgres, redis });
  }
}
