import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** One maintenance purge, by its run key (the scheduled time slot): a slot is purged once. */
@Entity({ tableName: 'maintenance_run' })
export class MaintenanceRun {
  @PrimaryKey({ type: 'string', length: 100 })
  runKey!: string;

  @Property({ type: 'integer' })
  sessionsRemoved = 0;

  @Property({ type: 'integer' })
  attemptsRemoved = 0;

  @Property({ type: 'datetime' })
  finishedAt: Date = new Date();
}
