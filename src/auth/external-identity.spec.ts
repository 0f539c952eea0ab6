import { groupsFrom, roleFromGroups, usernameBase } from './external-identity';

describe('external sign-in rules', () => {
  const roles = { adminGroup: 'certex-admins', viewerGroup: 'certex-viewers' };

  it('makes a site administrator of the admin group, a viewer of the viewer group, and refuses anyone else', () => {
    expect(roleFromGroups(['staff', 'certex-admins'], roles)).toBe('admin');
    expect(roleFromGroups(['certex-viewers', 'certex-admins'], roles)).toBe('admin');
    expect(roleFromGroups(['certex-viewers'], roles)).toBe('viewer');
    expect(roleFromGroups(['staff', 'Certex-Admins'], roles)).toBeNull();
    expect(roleFromGroups([], roles)).toBeNull();
    expect(roleFromGroups(['certex-admins'], { adminGroup: null, viewerGroup: 'certex-viewers' })).toBeNull();
  });

  it('reads groups from a claim list or a comma-separated header', () => {
    expect(groupsFrom(['a', ' b ', 3, null])).toEqual(['a', 'b']);
    expect(groupsFrom('certex-admins, staff;other,')).toEqual(['certex-admins', 'staff', 'other']);
    expect(groupsFrom(undefined)).toEqual([]);
    expect(groupsFrom({ a: 1 })).toEqual([]);
  });

  it('starts a new username from the preferred username, else the email, else the subject, in safe characters', () => {
    expect(usernameBase({ preferredUsername: 'j.smith', email: 'js@example.org', subject: 'abc' })).toBe('j.smith');
    expect(usernameBase({ preferredUsername: ' <script> ', email: null, subject: 'abc' })).toBe('script');
    expect(usernameBase({ preferredUsername: '  ', email: 'js@example.org', subject: 'abc' })).toBe('js@example.org');
    expect(usernameBase({ preferredUsername: null, email: null, subject: '00u1 fa' })).toBe('00u1fa');
    expect(usernameBase({ preferredUsername: null, email: null, subject: '   ' })).toBe('staff');
    expect(usernameBase({ preferredUsername: 'x'.repeat(300), email: null, subject: 's' })).toHaveLength(90);
  });
});
