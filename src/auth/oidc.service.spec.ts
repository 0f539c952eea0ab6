import { identityFromClaims } from './oidc.service';

describe('the person an OpenID provider describes', () => {
  const base = { iss: 'https://login.example.org/realms/staff', sub: '2d1f-77' };

  it('takes the issuer and subject from the ID token, and the groups from the configured claim', () => {
    expect(
      identityFromClaims(
        { ...base, name: ' Ada Admin ', email: 'ada@example.org', preferred_username: 'ada', groups: ['a'], roles: ['certex-admins'] },
        'roles',
      ),
    ).toEqual({
      method: 'oidc',
      issuer: 'https://login.example.org/realms/staff',
      subject: '2d1f-77',
      preferredUsername: 'ada',
      name: 'Ada Admin',
      email: 'ada@example.org',
      groups: ['certex-admins'],
    });
  });

  it('builds the name from given and family names when there is no name, and reads groups given as one string', () => {
    const identity = identityFromClaims({ ...base, given_name: 'Uma', family_name: 'User', groups: 'x, certex-viewers' }, 'groups');
    expect(identity).toMatchObject({ name: 'Uma User', email: null, preferredUsername: null, groups: ['x', 'certex-viewers'] });
  });

  it('leaves out what is missing or not text', () => {
    const identity = identityFromClaims({ ...base, name: '  ', email: 42, groups: { admin: true } }, 'groups');
    expect(identity).toMatchObject({ name: null, email: null, groups: [] });
  });
});
