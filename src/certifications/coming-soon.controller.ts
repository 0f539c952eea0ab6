import { Controller, Get, Param, ParseIntPipe, Res } from '@nestjs/common';
import type { Response } from 'express';
import { renderPage } from '../common/http';
import { CertificationTab, TAB_NAMES } from './certification-tabs';
import { CertificationsService } from './certifications.service';

/**
 * The tabs whose pages arrive with later issues: each is a complete page with the tabs and a
 * sentence saying so. Delete a route here when its real page is built.
 */
@Controller('certifications/:id')
export class ComingSoonController {
  constructor(private readonly certifications: CertificationsService) {}

  @Get('completion')
  completion(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
    return this.render(id, 'completion', res, 'The completion report of every learner in this certification arrives here soon.');
  }

  @Get('membership')
  membership(@Param('id', ParseIntPipe) id: number, @Res() res: Response) {
    return this.render(id, 'membership', res, 'The membership report of every learner in this certification arrives here soon.');
  }

  private async render(id: number, tab: CertificationTab, res: Response, sentence: string) {
    const page = await this.certifications.page(id, tab);
    renderPage(res, 'certifications/coming-soon', {
      title: page.title(),
      tabs: page.tabs,
      certificationName: page.certification.fullName,
      heading: TAB_NAMES[tab],
      sentence,
    });
  }
}
