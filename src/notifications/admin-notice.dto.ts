import { Expose, Transform } from 'class-transformer';
import { IsEmail, IsNotEmpty, Matches, ValidateIf } from 'class-validator';
import { MaxLength } from '../common/forms';
import { trimOrEmpty } from '../common/form-transforms';

/** An administrator's notice settings on the account page. An address is needed to receive the notice. */
export class NoticeSettingsForm {
  @Expose()
  notifyExceptions: string;

  @Expose()
  @Transform(trimOrEmpty)
  @IsEmail({}, { message: 'Enter an email address in the right format, like name@example.org' })
  @Matches(/^[^\r\n]*$/, { message: 'Enter an email address in the right format, like name@example.org' })
  @MaxLength(254, { message: 'Email address must be 254 characters or fewer' })
  @ValidateIf((form: NoticeSettingsForm) => form.email !== '' || form.notifyExceptions === 'yes')
  @IsNotEmpty({ message: 'Enter your email address to receive these emails, or untick the box' })
  email: string;
}
