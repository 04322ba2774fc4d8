import { describe, expect, it } from 'vitest';
import { ADMIN_SESSION_SECONDS, adminSessionValue, judgeAdminSession } from '../../worker/core/session/admin-session';

const SIGNED_IN_AT = Date.UTC(2030, 0, 1, 12, 0, 0);

describe('the admin session', () => {
  it('holds for one hour after sign-in and not a second longer', () => {
    const value = adminSessionValue(SIGNED_IN_AT);
    const expiresAt = SIGNED_IN_AT / 1000 + ADMIN_SESSION_SECONDS;
    expect(ADMIN_SESSION_SECONDS).toBe(3600);
    expect(judgeAdminSession(value, SIGNED_IN_AT)).toEqual({ ok: true, expiresAt });
    expect(judgeAdminSession(value, SIGNED_IN_AT + 3599_999)).toEqual({ ok: true, expiresAt });
    expect(judgeAdminSession(value, SIGNED_IN_AT + 3600_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('takes its lifetime from the caller', () => {
    const value = adminSessionValue(SIGNED_IN_AT, 60);
    expect(judgeAdminSession(value, SIGNED_IN_AT + 59_000).ok).toBe(true);
    expect(judgeAdminSession(value, SIGNED_IN_AT + 60_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it.each(['', 'soon', '1e12', '-1', ' 1893499200', '1893499200.5', '1'.repeat(13)])(
    'calls the value %j malformed',
    (value) => {
      expect(judgeAdminSession(value, SIGNED_IN_AT)).toEqual({ ok: false, reason: 'malformed' });
    },
  );
});
