import { Expose, Transform } from 'class-transformer';
import { IsEmail, IsIn, IsNotEmpty, IsString, Length, Matches, MinLength, ValidateIf } from 'class-validator';
import { MaxLength } from '../common/forms';
import type { StaffRole } from './staff.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class SignInForm {
  // IsString: a repeated field arrives as an array, which must not reach the sign-in query.
  @Expose()
  @Transform(trim)
  @IsString({ message: 'Enter your username' })
  @IsNotEmpty({ message: 'Enter your username' })
  username: string;

  @Expose()
  @IsString({ message: 'Enter your password' })
  @IsNotEmpty({ message: 'Enter your password' })
  password: string;
}

export class CreateStaffForm {
  @Expose()
  @Transform(trim)
  @Matches(/^[A-Za-z0-9._@-]+$/, { message: 'Username can only contain letters, digits and . _ @ -' })
  @Length(1, 100, { message: 'Username must be 100 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a username' })
  username: string;

  @Expose()
  @Transform(trim)
  @MaxLength(200, { message: 'Name must be 200 characters or fewer' })
  @IsNotEmpty({ message: 'Enter the person’s name' })
  displayName: string;

  @Expose()
  @IsIn(['admin', 'viewer'], { message: 'Choose a role' })
  role: StaffRole;

  @Expose()
  @Transform(trim)
  @ValidateIf((form: { email?: string }) => !!form.email)
  @MaxLength(254, { message: 'Email address must be 254 characters or fewer' })
  @IsEmail({}, { message: 'Enter an email address like name@example.org, or leave it empty' })
  email: string;

  @Expose()
  @MaxLength(200, { message: 'Password must be 200 characters or fewer' })
  @MinLength(12, { message: 'Password must be at least 12 characters' })
  @IsNotEmpty({ message: 'Enter a password' })
  password: string;
}

export class EditStaffForm {
  @Expose()
  @Transform(trim)
  @MaxLength(200, { message: 'Name must be 200 characters or fewer' })
  @IsNotEmpty({ message: 'Enter the person’s name' })
  displayName: string;

  @Expose()
  @IsIn(['admin', 'viewer'], { message: 'Choose a role' })
  role: StaffRole;

  @Expose()
  @Transform(({ value }) => value === 'yes')
  disabled: boolean;

  @Expose()
  @Transform(trim)
  @ValidateIf((form: { email?: string }) => !!form.email)
  @MaxLength(254, { message: 'Email address must be 254 characters or fewer' })
  @IsEmail({}, { message: 'Enter an email address like name@example.org, or leave it empty' })
  email: string;

  @Expose()
  @ValidateIf((form: EditStaffForm) => !!form.password)
  @MaxLength(200, { message: 'Password must be 200 characters or fewer' })
  @MinLength(12, { message: 'Password must be at least 12 characters' })
  password: string;
}
