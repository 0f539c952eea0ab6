import { checkExemption, exemptionAnswers } from './exemptions.service';

describe('the exemption form', () => {
  // 23:30 on 31 Mar 2027 in New York is already 1 Apr 2027 in UTC.
  const now = new Date('2027-04-01T03:30:00Z');
  const zone = 'America/New_York';

  it('reads a typed end date as the end of that day in the site zone, today included', () => {
    const today = checkExemption({ reason: 'Leave', endsOn: '2027-03-31' }, zone, now);
    expect(today).toEqual({ ok: true, value: { reason: 'Leave', endsAt: new Date('2027-04-01T03:59:59.999Z') } });
    expect(checkExemption({ reason: 'Leave', endsOn: '' }, zone, now)).toEqual({ ok: true, value: { reason: 'Leave', endsAt: null } });
  });

  it('refuses a missing reason, an impossible date and a day already past on the site calendar', () => {
    const fields = (endsOn: string, reason = 'Leave') => {
      const result = checkExemption({ reason, endsOn }, zone, now);
      return result.ok ? [] : result.errors.map((e) => `${e.field}: ${e.message}`);
    };
    expect(fields('', '')).toEqual(['reason: Enter the reason for the exemption']);
    expect(fields('2027-02-29')).toEqual(['endsOn: Enter the end date as a real date, for example 2027-03-31']);
    expect(fields('31/03/2027')).toEqual(['endsOn: Enter the end date as a real date, for example 2027-03-31']);
    expect(fields('2027-03-30')).toEqual(['endsOn: The end date must be today or later']);
    expect(fields('', 'x'.repeat(1001))).toEqual(['reason: Reason must be 1000 characters or fewer']);
  });

  it('trims the answers and ignores anything but text', () => {
    expect(exemptionAnswers({ reason: '  Leave ', endsOn: ['2027-03-31'] })).toEqual({ reason: 'Leave', endsOn: '' });
  });
});
