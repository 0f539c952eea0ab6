import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CsvFileUpload } from './csv-file.interceptor';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { renderFormPage, submitForm } from '../common/form-page';
import { FieldError, validateForm } from '../common/forms';
import { ruleErrors } from '../common/rule-error';
import { AppRequest, flash, orNotFound, readerZone, renderPage, seeOther } from '../common/http';
import { listQuery, searchCaption } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { formatNumber, pageTitle, plural } from '../common/view-helpers';
import { AudiencesService } from './audiences.service';
import { Audience } from './learner.entity';
import { LearnerImportService, MEMBER_CSV_COLUMNS } from './learner-import.service';
import { AddMemberForm, AudienceForm } from './learners.dto';
import { renderUploadPage, UploadPage } from './upload-page';
import { MemberUploadService } from './member-upload.service';
import { previewSections } from '../assignments/preview/preview-page';

const UPLOAD_GONE = 'That upload has expired or was already saved. Upload the file again to see what it would do.';

@Controller('audiences')
export class AudiencesController {
  constructor(
    private readonly audiences: AudiencesService,
    private readonly imports: LearnerImportService,
    private readonly memberUploads: MemberUploadService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const list = listQuery(query, 2);
    const page = await this.audiences.list(list);
    renderPage(res, 'audiences/list', {
      title: pageTitle(['Audiences']),
      q: list.q,
      caption: searchCaption('Audiences', list.q),
      audiences: page.rows.map((a) => ({
        href: this.urls.to('/audiences/', a.id),
        name: a.name,
        description: a.description,
        members: plural(a.member_count, 'member'),
      })),
      pagination: page.pagination,
    });
  }

  @AdminOnly()
  @Get('new')
  newForm(@Res() res: Response) {
    this.renderForm(res, null, {}, []);
  }

  @Post()
  create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    return submitForm(
      AudienceForm,
      body,
      async (audience) => {
        const id = await this.audiences.create(audience);
        flash(req, `Audience “${audience.name}” added`);
        seeOther(res, this.urls.to('/audiences/', id));
      },
      (values, errors) => this.renderForm(res, null, values, errors),
    );
  }

  @Get(':id')
  async show(@Param('id', IdPipe) id: number, @Query() query: Record<string, unknown>, @Res() res: Response) {
    await this.renderShow(res, await this.load(id), query, {}, []);
  }

  @AdminOnly()
  @Get(':id/edit')
  async editForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const audience = await this.load(id);
    this.renderForm(res, audience, { name: audience.name, description: audience.description }, []);
  }

  @Post(':id')
  async update(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const audience = await this.load(id);
    await submitForm(
      AudienceForm,
      body,
      async (changed) => {
        await this.audiences.update(id, changed);
        flash(req, `Audience “${changed.name}” saved`);
        seeOther(res, this.urls.to('/audiences/', id));
      },
      (values, errors) => this.renderForm(res, audience, values, errors),
    );
  }

  @Post(':id/members')
  async addMember(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const audience = await this.load(id);
    const form = validateForm(AddMemberForm, body);
    if (!form.ok) return this.renderShow(res, audience, {}, form.values, form.errors);
    try {
      const added = await this.audiences.addMember(id, form.value.idNumber);
      flash(req, `${added.name} added to the audience`);
      seeOther(res, this.urls.to('/audiences/', id));
    } catch (error) {
      await this.renderShow(res, audience, {}, form.value, ruleErrors(error));
    }
  }

  @Post(':id/members/:learnerId/remove')
  async removeMember(
    @Param('id', IdPipe) id: number,
    @Param('learnerId', IdPipe) learnerId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    await this.load(id);
    const removed = await this.audiences.removeMember(id, learnerId);
    flash(req, removed ? `${removed.name} removed from the audience` : 'That learner was not a member of this audience');
    seeOther(res, this.urls.to('/audiences/', id));
  }

  @AdminOnly()
  @Get(':id/upload')
  async uploadForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    renderUploadPage(res, this.uploadPage(await this.load(id)));
  }

  /** Checks the file; a right one is kept as a pending upload and its preview shown next (nothing is added yet). */
  @Post(':id/upload')
  @CsvFileUpload()
  async upload(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response) {
    const audience = await this.load(id);
    const checked = await this.imports.checkMembers(id, req.file, req.staff!.id);
    if (!checked.ok) return renderUploadPage(res, this.uploadPage(audience), checked);
    seeOther(res, this.urls.to('/audiences/', id, '/upload/', checked.token));
  }

  /** What adding the checked file's members would do to every certification that assigns the audience. */
  @AdminOnly()
  @Get(':id/upload/:token')
  async uploadPreview(@Param('id', IdPipe) id: number, @Param('token') token: string, @Req() req: AppRequest, @Res() res: Response) {
    const audience = await this.load(id);
    const pending = await this.memberUploads.pending(id, token, req.staff!.id);
    if (!pending) {
      flash(req, UPLOAD_GONE);
      return seeOther(res, this.urls.to('/audiences/', id, '/upload'));
    }
    const outcome = await this.memberUploads.preview(id, token);
    const heading = 'Check what adding these members will do';
    renderPage(res, 'audiences/upload-preview', {
      title: pageTitle([heading, audience.name, 'Audiences']),
      heading,
      audienceName: audience.name,
      backHref: this.urls.to('/audiences/', id, '/upload'),
      counts: [
        { key: 'Learners in the file', value: formatNumber(pending.fileRows) },
        { key: 'New members', value: formatNumber(pending.newMembers) },
        { key: 'Already members', value: formatNumber(pending.fileRows - pending.newMembers) },
      ],
      ...previewSections(outcome, this.urls, readerZone(res)),
      saveAction: this.urls.to('/audiences/', id, '/upload/', token),
      cancelHref: this.urls.to('/audiences/', id),
    });
  }

  @Post(':id/upload/:token')
  async saveUpload(@Param('id', IdPipe) id: number, @Param('token') token: string, @Req() req: AppRequest, @Res() res: Response) {
    await this.load(id);
    const message = await this.memberUploads.save(id, token, req.staff!.id);
    flash(req, message ?? UPLOAD_GONE);
    seeOther(res, message ? this.urls.to('/audiences/', id) : this.urls.to('/audiences/', id, '/upload'));
  }

  private uploadPage(audience: Audience): UploadPage {
    return {
      heading: `Upload members of ${audience.name}`,
      section: ['Audiences'],
      intro: `Add learners to the audience ${audience.name} from a CSV file with one ID number a row. Before anything is added, the next page shows what it would do in every certification that assigns the audience (for 100,000 learners this can take up to a minute on a busy server).`,
      action: this.urls.to('/audiences/', audience.id, '/upload'),
      backHref: this.urls.to('/audiences/', audience.id),
      backLabel: `Back to ${audience.name}`,
      columns: MEMBER_CSV_COLUMNS,
      exampleRows: ['E1001', 'E1002'],
    };
  }

  private load(id: number): Promise<Audience> {
    return orNotFound(this.audiences.get(id));
  }

  private renderForm(res: Response, audience: Audience | null, values: object, errors: FieldError[]) {
    const heading = audience ? `Edit ${audience.name}` : 'Add an audience';
    const home = audience ? this.urls.to('/audiences/', audience.id) : this.urls.to('/audiences');
    renderFormPage(
      res,
      'audiences/form',
      { title: pageTitle([heading, 'Audiences'], errors.length > 0), heading, creating: !audience, action: home, backHref: home },
      values,
      errors,
    );
  }

  private async renderShow(res: Response, audience: Audience, query: Record<string, unknown>, values: object, errors: FieldError[]) {
    const list = listQuery(query, 3);
    const [page, memberCount] = await Promise.all([this.audiences.members(audience.id, list), this.audiences.memberCount(audience.id)]);
    renderFormPage(
      res,
      'audiences/show',
      {
        title: pageTitle([audience.name, 'Audiences'], errors.length > 0),
        audience: {
          name: audience.name,
          description: audience.description,
          members: plural(memberCount, 'member'),
          editHref: this.urls.to('/audiences/', audience.id, '/edit'),
          uploadHref: this.urls.to('/audiences/', audience.id, '/upload'),
          searchAction: this.urls.to('/audiences/', audience.id),
          addAction: this.urls.to('/audiences/', audience.id, '/members'),
        },
        q: list.q,
        caption: searchCaption('Members', list.q),
        members: page.rows.map((m) => ({
          href: this.urls.to('/learners/', m.id),
          name: `${m.first_name} ${m.last_name}`,
          idNumber: m.id_number,
          email: m.email,
          addedAt: m.added_at,
          removeAction: this.urls.to('/audiences/', audience.id, '/members/', m.id, '/remove'),
        })),
        pagination: page.pagination,
      },
      values,
      errors,
    );
  }
}
