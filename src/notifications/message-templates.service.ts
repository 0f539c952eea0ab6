import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { MESSAGE_DEFAULTS, MESSAGE_KINDS, MessageKind } from './message-templates';
import type { MessageTemplateInput } from './message-templates.dto';

export interface MessageTemplate {
  kind: MessageKind;
  enabled: boolean;
  subject: string;
  body: string;
  offsetDays: number | null;
}

type Execute = (sql: string, params: unknown[]) => Promise<unknown>;

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
  static async ensureDefaults(execute: Execute, certificationId: number | null): Promise<void> {
    await execute(
      `insert into message_template (certification_id, kind, enabled, subject, body, offset_days)
       select c.id, d.kind, true, d.subject, d.body, d.offset_days
         from certification c
        cross join jsonb_to_recordset(?::jsonb) as d(kind text, subject text, body text, offset_days integer)
        where (?::int is null or c.id = ?::int)
          and not exists (select 1 from message_template t where t.certification_id = c.id and t.kind = d.kind)
       on conflict (certification_id, kind) do nothing`,
      [DEFAULTS_JSON, certificationId, certificationId],
    );
  }

  private execute: Execute = (sql, params) => this.em.getConnection().execute(sql, params as any[]);

  async list(certificationId: number): Promise<MessageTemplate[]> {
    await MessageTemplatesService.ensureDefaults(this.execute, certificationId);
    const rows = await this.em
      .getConnection()
      .execute<MessageTemplate[]>(
        `select kind, enabled, subject, body, offset_days as "offsetDays" from message_template where certification_id = ?`,
        [certificationId],
      );
    return MESSAGE_KINDS.map((kind) => rows.find((r) => r.kind === kind)!).filter(Boolean);
  }

  async get(certificationId: number, kind: MessageKind): Promise<MessageTemplate | null> {
    return (await this.list(certificationId)).find((t) => t.kind === kind) ?? null;
  }

  async update(certificationId: number, kind: MessageKind, input: MessageTemplateInput, staffId: number): Promise<void> {
    await MessageTemplatesService.ensureDefaults(this.execute, certificationId);
    await this.em.getConnection().execute(
      `update message_template set enabled = ?, subject = ?, body = ?, offset_days = coalesce(?, offset_days),
              updated_at = now(), updated_by = ?
        where certification_id = ? and kind = ?`,
      [input.enabled, input.subject, input.body, input.offsetDays, staffId, certificationId, kind],
    );
  }
}
