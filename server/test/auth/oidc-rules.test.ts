import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { freeName, groupsOf, isAdminClaim, nameBaseOf, profileOf } from '../../src/auth/oidc.service.js';

const OIDC = { TANDEM_AUTH: 'oidc', TANDEM_OIDC_ISSUER: 'https://id.example/realms/corp', TANDEM_OIDC_CLIENT_ID: 'tandem' };

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('single sign-on configuration', () => {
  it('keeps password sign-in, and only it, by default', () => {
    expect(loadConfig({})).toMatchObject({ passwordSignIn: true, oidc: undefined });
  });

  it('reads the provider, with default scopes and button name', () => {
    expect(loadConfig({ ...OIDC, TANDEM_OIDC_CLIENT_SECRET: 's3cret' })).toMatchObject({
      passwordSignIn: false,
      oidc: {
        issuer: 'https://id.example/realms/corp',
        clientId: 'tandem',
        clientSecret: 's3cret',
        scopes: 'openid profile email',
        name: 'single sign-on',
      },
    });
    expect(loadConfig({ ...OIDC, TANDEM_AUTH: 'password,oidc' })).toMatchObject({ passwordSignIn: true, oidc: { clientId: 'tandem' } });
  });

  it('names the missing or bad variable', () => {
    expect(problems({ TANDEM_AUTH: 'oidc' })).toEqual([
      'TANDEM_OIDC_ISSUER: required when TANDEM_AUTH includes oidc (the provider’s issuer URL)',
      'TANDEM_OIDC_CLIENT_ID: required when TANDEM_AUTH includes oidc',
    ]);
    expect(problems({ TANDEM_AUTH: 'saml' })).toEqual([expect.stringMatching(/^TANDEM_AUTH: must be password, oidc, or password,oidc/)]);
    expect(problems({ ...OIDC, TANDEM_OIDC_ISSUER: 'not a url' })).toEqual([expect.stringMatching(/^TANDEM_OIDC_ISSUER: /)]);
    expect(problems({ ...OIDC, TANDEM_OIDC_ISSUER: 'http://id.example' })).toEqual([
      'TANDEM_OIDC_ISSUER: must be an https URL (http only for localhost) (got "http://id.example")',
    ]);
    expect(problems({ ...OIDC, TANDEM_OIDC_ISSUER: 'http://127.0.0.1:8080' })).toEqual([]);
    expect(problems({ ...OIDC, TANDEM_OIDC_SCOPES: 'profile email' })).toEqual([
      expect.stringMatching(/^TANDEM_OIDC_SCOPES: must include openid/),
    ]);
    expect(problems({ ...OIDC, TANDEM_OIDC_ADMIN_VALUE: 'admins' })).toEqual(['TANDEM_OIDC_ADMIN_VALUE: needs TANDEM_OIDC_ADMIN_CLAIM']);
    expect(problems({ TANDEM_OIDC_ISSUER: 'https://id.example' })).toEqual([
      'TANDEM_OIDC_ISSUER set, but TANDEM_AUTH (password) does not include oidc',
    ]);
  });
});

describe('from claims to a Tandem user', () => {
  it('derives user names from preferred_username, else email, else sub', () => {
    expect(nameBaseOf('Ana.Lima@corp.example')).toBe('ana.lima');
    expect(nameBaseOf('José Ünal')).toBe('jose-unal');
    expect(nameBaseOf('__ops team!!')).toBe('ops-team');
    expect(nameBaseOf('@@@')).toBe('user');
    expect(nameBaseOf('x'.repeat(100))).toHaveLength(56);
    expect(profileOf({ sub: 's1', email: 'kim@corp.example' }, {}).nameBase).toBe('kim');
    expect(profileOf({ sub: 'S-1', preferred_username: ' ' }, {}).nameBase).toBe('s-1');
  });

  it('gives a taken name the first free numeric suffix', () => {
    expect(freeName('ana', new Set())).toBe('ana');
    expect(freeName('ana', new Set(['ana', 'ana-2', 'ana-4']))).toBe('ana-3');
  });

  it('takes the display name from name, else given and family name, else the name’s source', () => {
    expect(profileOf({ sub: 's', name: 'Ana Lima' }, {}).displayName).toBe('Ana Lima');
    expect(profileOf({ sub: 's', given_name: 'Ana', family_name: 'Lima' }, {}).displayName).toBe('Ana Lima');
    expect(profileOf({ sub: 's', preferred_username: 'ana' }, {}).displayName).toBe('ana');
  });

  it('is admin when the claim is true, or with an admin value, when the claim is or holds it', () => {
    expect([true, 'true', false, 'yes', undefined].map((v) => isAdminClaim(v, undefined))).toEqual([true, true, false, false, false]);
    expect([['a', 'admins'], 'admins', ['a'], true].map((v) => isAdminClaim(v, 'admins'))).toEqual([true, true, false, false]);
  });

  it('leaves admin and groups alone unless their claims are configured, and reads dotted claim paths', () => {
    const claims = { sub: 's', realm_access: { roles: ['admin', 'eng'] }, 'https://corp.example/groups': ['/eng'] };
    expect(profileOf(claims, {})).toMatchObject({ isAdmin: undefined, groups: undefined });
    expect(
      profileOf(claims, { adminClaim: 'realm_access.roles', adminValue: 'admin', groupsClaim: 'https://corp.example/groups' }),
    ).toMatchObject({
      isAdmin: true,
      groups: ['/eng'],
    });
    expect(profileOf(claims, { groupsClaim: 'groups' }).groups).toEqual([]);
  });

  it('keeps group names as given, skipping what cannot be a team name', () => {
    expect(groupsOf([' eng ', 'eng', '', 42, null, 'x'.repeat(201), '/corp/Data Science'])).toEqual(['eng', '/corp/Data Science']);
    expect(groupsOf('eng')).toEqual(['eng']);
    expect(groupsOf(undefined)).toEqual([]);
  });
});
