import { Entity, Opt, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';

/** A checked audience member upload waiting for its preview's Save (one administrator's, for an hour). */
@Entity({ tableName: 'pending_member_upload' })
export class PendingMemberUpload {
  @PrimaryKey({ type: 'uuid', defaultRaw: 'gen_random_uuid()' })
  token!: string & Opt;

  @Property({ type: 'integer' })
  audienceId!: number;

  @Property({ type: 'integer' })
  staffId!: number;

  /** Rows of the file, learners already members included. */
  @Property({ type: 'integer' })
  fileRows!: number;

  @Property({ type: 'datetime', defaultRaw: 'now()' })
  createdAt!: Date & Opt;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}

/** A learner named by a pending upload. */
@Entity({ tableName: 'pending_member_upload_learner' })
export class PendingMemberUploadLearner {
  [PrimaryKeyProp]?: ['token', 'learnerId'];

  @PrimaryKey({ type: 'uuid' })
  token!: string;

  @PrimaryKey({ type: 'integer' })
  learnerId!: number;
}
