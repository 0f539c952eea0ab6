import { Controller, Get, Inject, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { BigIdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config';
import { AppRequest, flash, readerZone, renderPage, seeOther } from '../common/http';
import { listQuery } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { formatDateTime, formatNumber, pageTitle, plural } from '../common/view-helpers';
import { MAIL_MAX_ATTEMPTS, MAIL_STATES, MailState } from './mail-relay.constants';
import { OutboxMail } from './outbox-mail.entity';
import { MAIL_COUNT_LIMIT, MAIL_LOG_KEY, MailRow, OutboxService } from './outbox.service';

const MAIL_STATE_LABELS: Record<MailState, string> = {
  pending: 'Waiting to be sent',
  sending: 'Sending',
  sent: 'Sent',
  failed: 'Failed',
  kept: 'Kept, not sent',
};

function countText(count: number): string {
  return count > MAIL_COUNT_LIMIT ? `more than ${formatNumber(MAIL_COUNT_LIMIT)}` : formatNumber(count);
}

function mailState(raw: unknown): MailState | null {
  return typeof raw === 'string' && (MAIL_STATES as readonly string[]).includes(raw) ? (raw as MailState) : null;
}

/** Admin › Mail log: every message in the outbox, one message as its recipient reads it, Retry. */
@Controller('admin/mail')
export class MailLogController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly outbox: OutboxService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const state = mailState(query.state);
    const list = listQuery(query, MAIL_LOG_KEY);
    const [page, counts] = await Promise.all([this.outbox.list({ ...list, state }), this.outbox.countsByState()]);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const capped = Object.values(counts).some((n) => n > MAIL_COUNT_LIMIT);
    const filtered = state !== null || list.q !== '';
    renderPage(res, 'mail/list', {
      title: pageTitle(['Mail log']),
      q: list.q,
      filtered,
      total,
      totalText: capped ? `More than ${plural(MAIL_COUNT_LIMIT, 'message')}` : plural(total, 'message'),
      stateOptions: MAIL_STATES.map((value) => ({
        value,
        label: `${MAIL_STATE_LABELS[value]} (${countText(counts[value])})`,
        selected: value === state,
      })),
      caption: this.caption(state, list.q),
      messages: page.rows.map((row) => this.listRow(row, readerZone(res))),
      pagination: page.pagination,
    });
  }

  @Get(':id')
  async show(@Param('id', BigIdPipe) id: number, @Res() res: Response) {
    const message = await this.outbox.get(id);
    if (!message) throw new NotFoundException();
    renderPage(res, 'mail/show', {
      title: pageTitle([message.subject || '(no subject)', 'Mail log']),
      message: this.detail(message, readerZone(res)),
      retryAction: message.state === 'failed' ? this.urls.to('/admin/mail/', id, '/retry') : null,
      backHref: this.urls.to('/admin/mail'),
    });
  }

  @Post(':id/retry')
  async retry(@Param('id', BigIdPipe) id: number, @Req() req: AppRequest, @Res() res: Response) {
    const message = await this.outbox.get(id);
    if (!message) throw new NotFoundException();
    if (await this.outbox.retry(id)) flash(req, `The message to ${message.toAddress} will be sent again`);
    seeOther(res, this.urls.to('/admin/mail/', id));
  }

  private caption(state: MailState | null, q: string): string {
    const what = state ? `Messages ${MAIL_STATE_LABELS[state].toLowerCase()}` : 'Messages, newest first';
    return q ? `${what} matching “${q}”` : what;
  }

  private listRow(row: Omit<MailRow, 'kCreated'>, zone: string) {
    return {
      href: this.urls.to('/admin/mail/', row.id),
      to: row.toName ? `${row.toName} <${row.toAddress}>` : row.toAddress,
      subject: row.subject || '(no subject)',
      key: row.messageKey,
      state: MAIL_STATE_LABELS[row.state],
      failed: row.state === 'failed',
      attempts: row.attempts,
      lastError: row.lastError ?? '',
      createdAt: formatDateTime(row.createdAt, zone),
      sentAt: formatDateTime(row.sentAt, zone),
    };
  }

  private detail(message: OutboxMail, zone: string) {
    return {
      ...this.listRow(message, zone),
      from: this.config.mailFrom,
      toAddress: message.toAddress,
      toName: message.toName ?? '',
      messageId: message.messageId,
      kind: message.kind,
      attemptsText:
        message.state === 'pending' && message.attempts > 0
          ? `${message.attempts} of ${MAIL_MAX_ATTEMPTS}; next attempt ${formatDateTime(message.nextAttemptAt, zone)}`
          : String(message.attempts),
      bodyText: message.bodyText,
      // Shown as source text only: the page never renders markup from a message.
      bodyHtml: message.bodyHtml,
    };
  }
}
