import 'express-session';

declare module 'express-session' {
  interface SessionData {
    staffId: number;
    signedInAt: number;
    flash: string;
    /** When the session was last saved: see keepSessionAlive. */
    savedAt: number;
    /** How this session was signed in: sign-out ends the provider's session too after single sign-on. */
    signInMethod: 'password' | 'oidc' | 'proxy';
    /** After a proxy sign-in: whom the proxy named and their groups, to notice another person or changed groups. */
    proxySubject: string;
    proxyGroups: string;
    /** A single sign-on under way: the state, nonce and PKCE verifier its callback must match, and where to go next. */
    oidcPending: { state: string; nonce: string; codeVerifier: string; next: string };
    /** The provider's ID token of a single sign-on session, sent back as id_token_hint at sign-out. */
    oidcIdToken: string;
  }
}
