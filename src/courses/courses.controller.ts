import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { errorMap, FieldError, fieldError, validateForm } from '../common/forms';
import { AppRequest, flash, renderPage, seeOther } from '../common/http';
import { UrlBuilder } from '../common/url';
import { pageTitle, plural } from '../common/view-helpers';
import { listQuery } from '../learners/listing';
import { renderUploadPage, UploadPage } from '../learners/upload-page';
import { COMPLETION_CSV_COLUMNS, CompletionImportService } from './completion-import.service';
import { CourseForm } from './courses.dto';
import { CourseRow, CourseRuleError, CoursesService } from './courses.service';

@Controller('courses')
export class CoursesController {
  constructor(
    private readonly courses: CoursesService,
    private readonly imports: CompletionImportService,
    private readonly urls: UrlBuilder,
  ) {}

  @Get()
  async list(@Query() query: Record<string, unknown>, @Res() res: Response) {
    const list = listQuery(query, 2);
    const page = await this.courses.list(list);
    renderPage(res, 'courses/list', {
      title: pageTitle(['Courses']),
      q: list.q,
      caption: list.q ? `Courses matching “${list.q}”` : 'Courses',
      courses: page.rows.map((c) => ({
        editHref: this.urls.to('/courses/', c.id, '/edit'),
        shortName: c.short_name,
        fullName: c.full_name,
        completions: plural(c.completion_count, 'completion'),
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
  async create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const form = validateForm(CourseForm, body);
    if (!form.ok) return this.renderForm(res, null, form.values, form.errors, 400);
    try {
      await this.courses.create(form.value);
      flash(req, `Course ${form.value.shortName} added`);
      seeOther(res, this.urls.to('/courses'));
    } catch (error) {
      if (error instanceof CourseRuleError) return this.renderForm(res, null, { ...form.value }, [fieldError(error.field, error.message)], 400);
      throw error;
    }
  }

  @AdminOnly()
  @Get('completions/upload')
  uploadForm(@Res() res: Response) {
    renderUploadPage(res, this.uploadPage());
  }

  @Post('completions/upload')
  async upload(@Req() req: AppRequest, @Res() res: Response) {
    const outcome = await this.imports.importCompletions(req.file, req.staff!.id);
    if (!outcome.ok) return renderUploadPage(res, this.uploadPage(), outcome);
    flash(req, outcome.message);
    seeOther(res, this.urls.to('/courses'));
  }

  private uploadPage(): UploadPage {
    return {
      heading: 'Upload course completions',
      section: ['Courses'],
      intro: 'Record course completions from a CSV file. Completions already recorded are left as they are.',
      action: this.urls.to('/courses/completions/upload'),
      backHref: this.urls.to('/courses'),
      backLabel: 'Back to courses',
      columns: COMPLETION_CSV_COLUMNS,
      exampleRows: ['E1001,FIRE-101,2024-03-31'],
    };
  }

  @AdminOnly()
  @Get(':id/edit')
  async editForm(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
    const course = await this.load(id);
    this.renderForm(res, course, { shortName: course.short_name, fullName: course.full_name }, []);
  }

  @Post(':id')
  async update(@Param('id', ParseIntPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const course = await this.load(id);
    const form = validateForm(CourseForm, body);
    if (!form.ok) return this.renderForm(res, course, form.values, form.errors, 400);
    try {
      await this.courses.update(id, form.value);
      flash(req, `Course ${form.value.shortName} saved`);
      seeOther(res, this.urls.to('/courses'));
    } catch (error) {
      if (error instanceof CourseRuleError) return this.renderForm(res, course, { ...form.value }, [fieldError(error.field, error.message)], 400);
      throw error;
    }
  }

  private async load(id: number): Promise<CourseRow> {
    const course = await this.courses.get(id);
    if (!course) throw new NotFoundException();
    return course;
  }

  private renderForm(res: Response, course: CourseRow | null, values: Record<string, unknown>, errors: FieldError[], status = 200) {
    const heading = course ? `Edit ${course.short_name}` : 'Add a course';
    renderPage(
      res,
      'courses/form',
      {
        title: pageTitle([heading, 'Courses'], errors.length > 0),
        heading,
        creating: !course,
        action: course ? this.urls.to('/courses/', course.id) : this.urls.to('/courses'),
        values,
        errors,
        fieldErrors: errorMap(errors),
      },
      status,
    );
  }
}
