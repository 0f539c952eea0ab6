import { Expose, Transform } from 'class-transformer';
import { IsEmail, IsIn, IsNotEmpty, IsString, Length, Matches, MinLength, ValidateIf } from 'class-validator';
import { MaxLength, stacked } from '../common/forms';
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

/** The name, role and email fields, the same when a staff account is added and when it is edited. */
const DisplayNameField = () =>
  stacked(
    Expose(),
    Transform(trim),
    MaxLength(200, { message: 'Name must be 200 characters or fewer' }),
    IsNotEmpty({ message: 'Enter the person’s name' }),
  );

const RoleField = () => stacked(Expose(), IsIn(['admin', 'viewer'], { message: 'Choose a role' }));

const EmailField = () =>
  stacked(
    Expose(),
    Transform(trim),
    ValidateIf((form: { email?: string }) => !!form.email),
    MaxLength(254, { message: 'Email address must be 254 characters or fewer' }),
    IsEmail({}, { message: 'Enter an email address like name@example.org, or leave it empty' }),
  );

const PasswordLength = () =>
  stacked(
    MaxLength(200, { message: 'Password must be 200 characters or fewer' }),
    MinLength(12, { message: 'Password must be at least 12 characters' }),
  );

export class CreateStaffForm {
  @Expose()
  @Transform(trim)
  @Matches(/^[A-Za-z0-9._@-]+$/, { message: 'Username can only contain letters, digits and . _ @ -' })
  @Length(1, 100, { message: 'Username must be 100 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a username' })
  username: string;

  @DisplayNameField()
  displayName: string;

  @RoleField()
  role: StaffRole;

  @EmailField()
  email: string;

  @Expose()
  @PasswordLength()
  @IsNotEmpty({ message: 'Enter a password' })
  password: string;
}

export class EditStaffForm {
  @DisplayNameField()
  displayName: string;

  @RoleField()
  role: StaffRole;

  @Expose()
  @Transform(({ value }) => value === 'yes')
  disabled: boolean;

  @EmailField()
  email: string;

  @Expose()
  @ValidateIf((form: EditStaffForm) => !!form.password)
  @PasswordLength()
  password: string;
}
