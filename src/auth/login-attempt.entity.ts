import { BigIntType, Entity, PrimaryKey, Property } from '@mikro-orm/core';

/** A sign-in attempt, counted before its password is checked to throttle guessing; a success clears those of its username and address. */
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
