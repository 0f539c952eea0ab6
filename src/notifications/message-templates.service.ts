import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { sql, SqlRunner } from '../database/sql';
import { MessageTemplate } from './message-template.entity';
import { MESSAGE_DEFAULTS, MESSAGE_KINDS, MessageKind } from './message-templates';
import type { MessageTemplateInput } from './message-templates.dto';

const DEFAULTS_JSON = JSON.stringify(MESSAGE_DEFAULTS);

/**
 * Learner message templates. Every certification has all eight: the defaults are written
 * set-based for any certification that lacks them (whoever created it), when the Messages tab
 * is opened and before each sweep.
 */
@Injectable()
export class MessageTemplatesService {
  constructor(private readonly em: EntityManager) {}

  /** Adds the default messages a certification (or, with null, any certification) does not have yet. */
  static async ensureDefaults(db: SqlRunner, certificationId: number | null): Promise<void> {
    await db.run(sql`
      insert into message_template (certification_id, kind, enabled, subject, body, offset_days)
      select c.id, d.kind, true, d.subject, d.body, d.offset_days
        from certification c
       cross join jsonb_to_recordset(${DEFAULTS_JSON}::jsonb) as d(kind text, subject text, body text, offset_days integer)
       where (${certificationId}::int is null or c.id = ${certificationId}::int)
         and not exists (select 1 from message_template t where t.certification_id = c.id and t.kind = d.kind)
      on conflict (certification_id, kind) do nothing`);
  }

  /** The certification's eight messages, in the order of MESSAGE_KINDS. */
  async list(certificationId: number): Promise<MessageTemplate[]> {
    await MessageTemplatesService.ensureDefaults(new SqlRunner(this.em), certificationId);
    const rows = await this.em.find(MessageTemplate, { certificationId });
    return MESSAGE_KINDS.map((kind) => rows.find((r) => r.kind === kind)).filter((r) => r !== undefined);
  }

  async get(certificationId: number, kind: MessageKind): Promise<MessageTemplate | null> {
    await MessageTemplatesService.ensureDefaults(new SqlRunner(this.em), certificationId);
    return this.em.findOne(MessageTemplate, { certificationId, kind });
  }

  async update(certificationId: number, kind: MessageKind, input: MessageTemplateInput, staffId: number): Promise<void> {
    const template = await this.get(certificationId, kind);
    if (!template) return;
    template.enabled = input.enabled;
    template.subject = input.subject;
    template.body = input.body;
    template.offsetDays = input.offsetDays ?? template.offsetDays;
    template.updatedAt = new Date();
    template.updatedBy = staffId;
    await this.em.flush();
  }
}
