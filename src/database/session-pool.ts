import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** The small pool the session store uses, closed with the app. */
@Injectable()
export class SessionPool implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // A session touch lost in a crash only shortens an idle timeout, so session writes need not
    // wait for the disk: this keeps the per-request touch cheap.
    this.pool = new Pool({
      connectionString: config.databaseUrl,
      max: 5,
      connectionTimeoutMillis: 5000,
      options: '-c synchronous_commit=off',
    });
    this.pool.on('error', () => undefined);
  }

  async onApplicationShutdown() {
    await this.pool.end();
  }
}
