import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A failed sign-in, counted to throttle guessing; cleared by a successful one. */
@Entity({ tableName: 'login_attempt' })
export class LoginAttempt {
  @PrimaryKey({ type: new BigIntType('number') })
  id!: number;

  @Property({ type: 'string', length: 100 })
  username!: string;

  @Property({ type: 'string', length: 64 })
  ip!: string;

  @Property({ type: 'datetime' })
  attemptedAt: Date = new Date();
}
