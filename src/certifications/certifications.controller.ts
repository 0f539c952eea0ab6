import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { renderPage } from '../common/http';
import { pageTitle } from '../common/view-helpers';

@Controller('certifications')
export class CertificationsController {
  @Get()
  list(@Res() res: Response) {
    renderPage(res, 'certifications/list', { title: pageTitle(['Certifications']), certifications: [] });
  }
}
