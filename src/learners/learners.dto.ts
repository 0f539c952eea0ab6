import { Expose, Transform } from 'class-transformer';
import { IsNotEmpty, Matches, ValidateIf } from 'class-validator';
import { MaxLength } from '../common/forms';
import { trim, trimOrEmpty } from '../common/form-transforms';
import { EMAIL_PATTERN, ID_NUMBER_PATTERN, IsDateTimeLocal, IsIsoDate, MESSAGES, USERNAME_PATTERN } from './learner-rules';

export class LearnerForm {
  @Expose()
  @Transform(trim)
  @Matches(ID_NUMBER_PATTERN, { message: MESSAGES.idNumberFormat })
  @MaxLength(100, { message: MESSAGES.idNumberLength })
  @IsNotEmpty({ message: MESSAGES.idNumberMissing })
  idNumber: string;

  @Expose()
  @Transform(trim)
  @Matches(USERNAME_PATTERN, { message: MESSAGES.usernameFormat })
  @MaxLength(100, { message: MESSAGES.usernameLength })
  @IsNotEmpty({ message: MESSAGES.usernameMissing })
  username: string;

  @Expose()
  @Transform(trim)
  @MaxLength(100, { message: MESSAGES.firstNameLength })
  @IsNotEmpty({ message: MESSAGES.firstNameMissing })
  firstName: string;

  @Expose()
  @Transform(trim)
  @MaxLength(100, { message: MESSAGES.lastNameLength })
  @IsNotEmpty({ message: MESSAGES.lastNameMissing })
  lastName: string;

  @Expose()
  @Transform(trim)
  @Matches(EMAIL_PATTERN, { message: MESSAGES.emailFormat })
  @MaxLength(254, { message: MESSAGES.emailLength })
  @IsNotEmpty({ message: MESSAGES.emailMissing })
  email: string;

  @Expose()
  @Transform(trim)
  @ValidateIf((form: LearnerForm) => !!form.hireDate)
  @IsIsoDate({ message: 'Hire date must be a real date, like 2024-03-31' })
  hireDate: string;

  @Expose()
  @Transform(trim)
  @ValidateIf((form: LearnerForm) => !!form.firstLogin)
  // Read in the reader's zone, and checked not to be in the future, when saved.
  @IsDateTimeLocal({ message: MESSAGES.firstLogin })
  firstLogin: string;

  @Expose()
  @Transform(({ value }) => value === 'yes')
  suspended: boolean;
}

export class CompletionForm {
  @Expose()
  @Matches(/^[1-9][0-9]{0,8}$/, { message: 'Select a course' })
  courseId: string;

  @Expose()
  @Transform(trim)
  // Not after today in the site's zone: checked by the controller, which knows the zone.
  @IsIsoDate({ message: 'Completion date must be a real date, like 2024-03-31' })
  @IsNotEmpty({ message: 'Enter the completion date' })
  completedOn: string;
}

export class AudienceForm {
  @Expose()
  @Transform(trim)
  @MaxLength(200, { message: 'Name must be 200 characters or fewer' })
  @IsNotEmpty({ message: 'Enter a name' })
  name: string;

  @Expose()
  @Transform(trimOrEmpty)
  @MaxLength(2000, { message: 'Description must be 2,000 characters or fewer' })
  description: string;
}

export class AddMemberForm {
  @Expose()
  @Transform(trim)
  @MaxLength(100, { message: MESSAGES.idNumberLength })
  @IsNotEmpty({ message: 'Enter the ID number of the learner to add' })
  idNumber: string;
}
