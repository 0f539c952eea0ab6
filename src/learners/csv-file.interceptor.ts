import { CallHandler, ExecutionContext, Injectable, NestInterceptor, UseInterceptors } from '@nestjs/common';
import type { Request, Response } from 'express';
import multer from 'multer';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { finalize, Observable } from 'rxjs';
import { UPLOAD_LIMIT_BYTES } from '../app.setup';
import { errorCode, errorMessage } from '../common/error-fields';

/** The file goes to the system's temporary directory as it arrives, never into memory; removed after the answer. */
const upload = multer({
  storage: multer.diskStorage({ destination: tmpdir() }),
  limits: { fileSize: UPLOAD_LIMIT_BYTES, files: 1, fields: 20 },
}).single('file');

function uploadError(error: unknown): Error {
  if (errorCode(error) === 'LIMIT_FILE_SIZE') return Object.assign(new Error('File too large'), { status: 413 });
  return Object.assign(error instanceof Error ? error : new Error(errorMessage(error)), { status: 400 });
}

/**
 * Reads the uploaded CSV file (the field `file`) of a multipart request. As an interceptor it runs
 * after the session, origin and CSRF checks (the token of a multipart form is in its address) and
 * after the role check of the guard: nobody who may not upload gets a byte of their file read.
 */
@Injectable()
export class CsvFileInterceptor implements NestInterceptor {
  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    if (req.is('multipart/form-data')) {
      await new Promise<void>((done, fail) => upload(req, res, (error: unknown) => (error ? fail(uploadError(error)) : done())));
    }
    return next.handle().pipe(
      finalize(() => {
        const path = req.file?.path;
        if (path) void rm(path, { force: true });
      }),
    );
  }
}

/** On an upload route: the file is read after every check, to disk. */
export const CsvFileUpload = () => UseInterceptors(CsvFileInterceptor);
