import { Expose, Transform } from 'class-transformer';
import { IsNotEmpty, Matches } from 'class-validator';
import { MaxLength } from '../common/forms';
import { trim } from '../common/form-transforms';

export const COURSE_SHORT_NAME_PATTERN = /^[A-Za-z0-9._/-]+$/;

export class CourseForm {
  @Expose()
  @Transform(trim)
  @Matches(COURSE_SHORT_NAME_PATTERN, { message: 'Short name can only contain letters, digits and . _ / -' })
  @MaxLength(100, { message: 'Short name must be 100 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a short name' })
  shortName: string;

  @Expose()
  @Transform(trim)
  @MaxLength(255, { message: 'Full name must be 255 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a full name' })
  fullName: string;
}
