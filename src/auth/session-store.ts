import session from 'express-session';
import connectPgSimple from 'connect-pg-simple';
import type { Request } from 'express';
import type { Pool } from 'pg';
import type { SignedInStaff } from '../common/http';

const PgStore = connectPgSimple(session);

/** Where a session read keeps its staff row until express-session makes the request's session from it. */
const STAFF_ROW = Symbol('staff read with the session');

/** The staff row read for the staff id the stored session named (null: nobody who may sign in). */
interface StaffRead {
  staffId: number | undefined;
  row: SignedInStaff | null;
}

type StoredSession = session.SessionData & { [STAFF_ROW]?: StaffRead };

interface SessionRow {
  sess: session.SessionData | string;
  id: number | null;
  username: string;
  displayName: string;
  role: SignedInStaff['role'];
  timeZone: string | null;
}

/**
 * The session table (connect-pg-simple), read together with its person: one statement answers
 * the session and the enabled staff row it names, so that a page costs one round trip less and the
 * person is as fresh as the session. The auth guard takes the row with `staffReadWithSession`.
 */
export class SessionStore extends PgStore {
  constructor(private readonly sessionPool: Pool) {
    super({ pool: sessionPool, tableName: 'session', pruneSessionInterval: false, disableTouch: true });
  }

  override get(sid: string, done: (error: unknown, session?: session.SessionData | null) => void): void {
    this.sessionPool
      .query<SessionRow>(
        `select s.sess, st.id, st.username, st.display_name as "displayName", st.role, st.time_zone as "timeZone"
           from session s
           left join staff st on st.id = (s.sess->>'staffId')::int and not st.disabled
          where s.sid = $1 and s.expire >= to_timestamp($2)`,
        [sid, Date.now() / 1000],
      )
      .then(({ rows: [row] }) => {
        if (!row) return done(null, null);
        const stored = (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) as StoredSession;
        const { id, username, displayName, role, timeZone } = row;
        stored[STAFF_ROW] = { staffId: stored.staffId, row: id === null ? null : { id, username, displayName, role, timeZone } };
        done(null, stored);
      })
      .catch((error: unknown) => done(error));
  }

  override createSession(req: Request, stored: session.SessionData): session.Session & session.SessionData {
    const created = super.createSession(req, stored);
    const read = (stored as StoredSession)[STAFF_ROW];
    if (read) staffReads.set(created, read);
    return created;
  }
}

/** Kept by the session object itself: a session regenerated at sign-in is a new object, without one. */
const staffReads = new WeakMap<session.Session, StaffRead>();

/**
 * The enabled staff row of `staffId` read with this session; null when the session named them and
 * nobody by that id may sign in; undefined when it was not read with the session (a session begun
 * or regenerated in this request, or one whose person changed).
 */
export function staffReadWithSession(current: session.Session, staffId: number): SignedInStaff | null | undefined {
  const read = staffReads.get(current);
  return read && read.staffId === staffId ? read.row : undefined;
}
