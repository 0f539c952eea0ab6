import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { renderPage } from '../common/http';
import { pageTitle } from '../common/view-helpers';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Public } from './auth.decorators';
import { SIGNED_OUT_PATH } from './proxy-sign-in';

/**
 * After signing out of a session the authenticating proxy started. The proxy still vouches for the
 * person, so any other page would sign them straight back in: this one never does, and says so.
 */
@Controller()
export class SignedOutController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Public()
  @Get(SIGNED_OUT_PATH.slice(1))
  signedOut(@Res() res: Response) {
    renderPage(res, 'auth/signed-out', { title: pageTitle(['Signed out']), throughProxy: this.config.authProxy !== null });
  }
}
