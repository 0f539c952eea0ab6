/**
 * Signs in over real HTTP as a browser would: GET /login for the CSRF token and cookie, POST the
 * form. Answers the session cookie; throws unless the sign-in redirects (303). For a Certex that
 * runs in another process or listens on a port (benchmarks, start-up tests).
 */
export async function signInOverHttp(base: string, username: string, password: string): Promise<string> {
  const login = await fetch(`${base}/login`, { redirect: 'manual' });
  const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1];
  const loginCookie = cookieFrom(login);
  if (!token || !loginCookie) throw new Error(`GET /login gave no CSRF token or cookie (status ${login.status})`);
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: loginCookie },
    body: new URLSearchParams({ _csrf: token, username, password }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in failed with ${res.status}`);
  return cookieFrom(res) ?? loginCookie;
}

function cookieFrom(res: Response): string | null {
  const setCookies = res.headers.getSetCookie();
  return setCookies.length ? setCookies.map((c) => c.split(';')[0]).join('; ') : null;
}
