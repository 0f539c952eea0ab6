import { Body, Controller, Get, NotFoundException, Param, Post, Query, Req, Res } from '@nestjs/common';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { radioOptions, renderFormPage, submitForm } from '../common/form-page';
import { FieldError } from '../common/forms';
import { AppRequest, flash, listedOrNotFound, orNotFound, renderPage, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { plural } from '../common/view-helpers';
import { CertificationPage, CertificationsService } from './certifications.service';
import {
  CourseSetForm,
  JOINER_LABELS,
  JOINERS,
  PATH_LABELS,
  PathName,
  PATHS,
  RULE_LABELS,
  RULES,
  toCourseSetInput,
} from './course-sets.dto';
import { CourseSet, CourseSetsService } from './course-sets.service';

/** The Content tab: both paths' course sets, and the forms that change them. */
@Controller('certifications/:id/content')
export class CourseSetsController {
  constructor(
    private readonly certifications: CertificationsService,
    private readonly courseSets: CourseSetsService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async content(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'content');
    const paths = await this.courseSets.paths(id);
    const totals: Record<PathName, number> = {
      certification: page.certification.certificationMinDays,
      recertification: page.certification.recertificationMinDays,
    };
    renderPage(res, 'certifications/content', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      paths: PATHS.map((path) => ({
        key: path,
        label: PATH_LABELS[path],
        lowerLabel: PATH_LABELS[path].toLowerCase(),
        total: plural(totals[path], 'day'),
        addHref: this.urls.withQuery(`/certifications/${id}/content/sets/new`, { path }),
        sets: paths[path].map((set) => ({
          name: set.name,
          courses: set.courses,
          rule: RULE_LABELS[set.rule],
          minTime: plural(set.minDays, 'day'),
          joiner: JOINER_LABELS[set.joiner],
          editHref: this.urls.to(`/certifications/${id}/content/sets/${set.id}/edit`),
          moveHref: this.urls.to(`/certifications/${id}/content/sets/${set.id}/move`),
          deleteHref: this.urls.to(`/certifications/${id}/content/sets/${set.id}/delete`),
        })),
      })),
    });
  }

  @AdminOnly()
  @Get('sets/new')
  async newForm(@Param('id', IdPipe) id: number, @Query('path') rawPath: unknown, @Res() res: Response) {
    const path = listedOrNotFound(PATHS, rawPath);
    const page = await this.certifications.page(id, 'content');
    await this.renderForm(res, page, { path }, { rule: 'all', minDays: '0', joiner: 'and', courses: [] }, []);
  }

  @Post('sets')
  async create(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const path = listedOrNotFound(PATHS, body.path);
    const page = await this.certifications.page(id, 'content');
    await submitForm(
      CourseSetForm,
      body,
      async (set) => {
        await this.courseSets.add(id, path, toCourseSetInput(set));
        flash(req, `Course set “${set.name}” added to the ${PATH_LABELS[path].toLowerCase()}`);
        seeOther(res, this.urls.to(`/certifications/${id}/content`));
      },
      (values, errors) => this.renderForm(res, page, { path }, values, errors),
      { refusedShowsPosted: true },
    );
  }

  @AdminOnly()
  @Get('sets/:setId/edit')
  async editForm(@Param('id', IdPipe) id: number, @Param('setId', IdPipe) setId: number, @Res() res: Response) {
    const page = await this.certifications.page(id, 'content');
    const set = await this.loadSet(id, setId);
    const values = {
      name: set.name,
      courses: set.courses.map((c) => String(c.id)),
      rule: set.rule,
      minDays: String(set.minDays),
      joiner: set.joiner,
    };
    await this.renderForm(res, page, { set }, values, []);
  }

  @Post('sets/:setId/edit')
  async update(
    @Param('id', IdPipe) id: number,
    @Param('setId', IdPipe) setId: number,
    @Req() req: AppRequest,
    @Res() res: Response,
    @Body() body: Record<string, unknown>,
  ) {
    const page = await this.certifications.page(id, 'content');
    const set = await this.loadSet(id, setId);
    await submitForm(
      CourseSetForm,
      body,
      async (changed) => {
        if (!(await this.courseSets.update(id, setId, toCourseSetInput(changed)))) throw new NotFoundException();
        flash(req, `Course set “${changed.name}” saved`);
        seeOther(res, this.urls.to(`/certifications/${id}/content`));
      },
      (values, errors) => this.renderForm(res, page, { set }, values, errors),
      { refusedShowsPosted: true },
    );
  }

  @Post('sets/:setId/delete')
  async remove(@Param('id', IdPipe) id: number, @Param('setId', IdPipe) setId: number, @Req() req: AppRequest, @Res() res: Response) {
    await this.certifications.page(id, 'content');
    const set = await this.courseSets.get(id, setId);
    // Already deleted: say so; a set of another certification: not found here.
    if (!set && (await this.courseSets.exists(setId))) throw new NotFoundException();
    const removed = set ? await this.courseSets.remove(id, setId) : false;
    flash(req, removed ? `Course set “${set!.name}” deleted` : 'That course set had already been deleted');
    seeOther(res, this.urls.to(`/certifications/${id}/content`));
  }

  @Post('sets/:setId/move')
  async move(
    @Param('id', IdPipe) id: number,
    @Param('setId', IdPipe) setId: number,
    @Body('direction') direction: unknown,
    @Req() req: AppRequest,
    @Res() res: Response,
  ) {
    if (direction !== 'up' && direction !== 'down') throw new NotFoundException();
    await this.certifications.page(id, 'content');
    const set = await this.loadSet(id, setId);
    const moved = await this.courseSets.move(id, setId, direction);
    flash(req, moved ? `Course set “${set.name}” moved ${direction}` : `Course set “${set.name}” cannot move further ${direction}`);
    seeOther(res, this.urls.to(`/certifications/${id}/content`));
  }

  private loadSet(id: number, setId: number): Promise<CourseSet> {
    return orNotFound(this.courseSets.get(id, setId));
  }

  private async renderForm(
    res: Response,
    page: CertificationPage,
    target: { path?: PathName; set?: CourseSet },
    values: Record<string, unknown>,
    errors: FieldError[],
  ) {
    const id = page.certification.id;
    const path = target.set?.path ?? target.path!;
    const heading = target.set ? `Edit course set “${target.set.name}”` : `Add a course set to the ${PATH_LABELS[path].toLowerCase()}`;
    const chosen = new Set((Array.isArray(values.courses) ? values.courses : values.courses ? [values.courses] : []).map(String));
    const courses = await this.courseSets.courseOptions();
    renderFormPage(
      res,
      'certifications/course-set-form',
      {
        title: page.title(errors.length > 0, target.set ? 'Edit course set' : 'Add a course set'),
        tabs: page.tabs,
        certificationName: page.certification.fullName,
        heading,
        action: target.set
          ? this.urls.to(`/certifications/${id}/content/sets/${target.set.id}/edit`)
          : this.urls.to(`/certifications/${id}/content/sets`),
        path: target.set ? null : path,
        backHref: this.urls.to(`/certifications/${id}/content`),
        submitLabel: target.set ? 'Save course set' : 'Add course set',
        courses: courses.map((course, index) => ({
          ...course,
          inputId: index === 0 ? 'courses' : `courses-${course.id}`,
          checked: chosen.has(String(course.id)),
        })),
        rules: radioOptions('rule', RULES, RULE_LABELS, values),
        joiners: radioOptions('joiner', JOINERS, JOINER_LABELS, values),
      },
      values,
      errors,
    );
  }
}
