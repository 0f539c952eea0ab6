import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { CsvFileUpload } from '../learners/csv-file.interceptor';
import { IdPipe } from '../common/id.pipe';
import type { Response } from 'express';
import { AdminOnly } from '../auth/auth.decorators';
import { renderFormPage, submitForm } from '../common/form-page';
import { FieldError } from '../common/forms';
import { AppRequest, flash, orNotFound, renderPage, seeOther } from '../common/http';
import { listQuery, searchCaption } from '../common/listing';
import { UrlBuilder } from '../common/url';
import { pageTitle, plural } from '../common/view-helpers';
import { answerUpload, renderUploadPage, UploadPage } from '../learners/upload-page';
import { COMPLETION_CSV_COLUMNS, CompletionImportService } from './completion-import.service';
import { CourseForm } from './courses.dto';
import { CoursesService } from './courses.service';
import { Course } from './course.entity';

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
      caption: searchCaption('Courses', list.q),
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
  create(@Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    return submitForm(
      CourseForm,
      body,
      async (course) => {
        await this.courses.create(course);
        flash(req, `Course ${course.shortName} added`);
        seeOther(res, this.urls.to('/courses'));
      },
      (values, errors) => this.renderForm(res, null, values, errors),
    );
  }

  @AdminOnly()
  @Get('completions/upload')
  uploadForm(@Res() res: Response) {
    renderUploadPage(res, this.uploadPage());
  }

  @Post('completions/upload')
  @CsvFileUpload()
  async upload(@Req() req: AppRequest, @Res() res: Response) {
    answerUpload(req, res, this.uploadPage(), await this.imports.importCompletions(req.file, req.staff!.id));
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
  async editForm(@Param('id', IdPipe) id: number, @Res() res: Response) {
    const course = await this.load(id);
    this.renderForm(res, course, { shortName: course.shortName, fullName: course.fullName }, []);
  }

  @Post(':id')
  async update(@Param('id', IdPipe) id: number, @Req() req: AppRequest, @Res() res: Response, @Body() body: Record<string, unknown>) {
    const course = await this.load(id);
    await submitForm(
      CourseForm,
      body,
      async (changed) => {
        await this.courses.update(id, changed);
        flash(req, `Course ${changed.shortName} saved`);
        seeOther(res, this.urls.to('/courses'));
      },
      (values, errors) => this.renderForm(res, course, values, errors),
    );
  }

  private load(id: number): Promise<Course> {
    return orNotFound(this.courses.get(id));
  }

  private renderForm(res: Response, course: Course | null, values: object, errors: FieldError[]) {
    const heading = course ? `Edit ${course.shortName}` : 'Add a course';
    renderFormPage(
      res,
      'courses/form',
      {
        title: pageTitle([heading, 'Courses'], errors.length > 0),
        heading,
        creating: !course,
        action: course ? this.urls.to('/courses/', course.id) : this.urls.to('/courses'),
      },
      values,
      errors,
    );
  }
}
