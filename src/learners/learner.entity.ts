import { Entity, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

@Entity({ tableName: 'learner' })
export class Learner {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  /** Unique. */
  @Property({ type: 'string', length: 100 })
  idNumber!: string;

  /** Unique whatever its case. */
  @Property({ type: 'string', length: 100 })
  username!: string;

  @Property({ type: 'string', length: 100 })
  firstName!: string;

  @Property({ type: 'string', length: 100 })
  lastName!: string;

  @Property({ type: 'string', length: 254 })
  email!: string;

  /** YYYY-MM-DD. */
  @Property({ type: 'date', nullable: true })
  hireDate: string | null = null;

  @Property({ type: 'datetime', nullable: true })
  firstLoginAt: Date | null = null;

  @Property({ type: 'boolean' })
  suspended = false;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  @Property({ type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}

@Entity({ tableName: 'audience' })
export class Audience {
  @PrimaryKey({ type: 'integer' })
  id!: number;

  /** Unique whatever its case. */
  @Property({ type: 'string', length: 200 })
  name!: string;

  @Property({ type: 'text' })
  description = '';

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();
}

@Entity({ tableName: 'audience_member' })
export class AudienceMember {
  [PrimaryKeyProp]?: ['audienceId', 'learnerId'];

  @PrimaryKey({ type: 'integer' })
  audienceId!: number;

  @PrimaryKey({ type: 'integer' })
  learnerId!: number;

  @Property({ type: 'datetime' })
  addedAt: Date = new Date();
}
