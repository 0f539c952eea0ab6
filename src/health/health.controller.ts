import { Controller, Get, Res } from '@nestjs/common';
import { InjectQueue } from '@nestjs/bull';
import type { Queue } from 'bull';
import type { Response } from 'express';
import { EntityManager } from '@mikro-orm/postgresql';
import { Public } from '../auth/auth.decorators';
import { sql, SqlRunner } from '../database/sql';
import { MAINTENANCE_QUEUE } from '../jobs/queues';

const CHECK_TIMEOUT_MS = 2000;

function within<T>(promise: Promise<T>): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, fail) => setTimeout(() => fail(new Error('timeout')), CHECK_TIMEOUT_MS).unref())]);
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly em: EntityManager,
    @InjectQueue(MAINTENANCE_QUEUE) private readonly queue: Queue,
  ) {}

  @Public()
  @Get()
  async health(@Res() res: Response) {
    const [postgres, redis] = await Promise.all([
      within(new SqlRunner(this.em).run(sql`select 1`)).then(
        () => 'up',
        () => 'down',
      ),
      within(this.queue.client.ping()).then(
        () => 'up',
        () => 'down',
      ),
    ]);
    const ok = postgres === 'up' && redis === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', postgres, redis });
  }
}
