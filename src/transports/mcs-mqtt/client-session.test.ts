import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/errors.js';
import { ClientSession, type Authenticate, type DeviceActor } from './client-session.js';

const keys: Record<string, string> = { Dbxxxx9k: 'TPJVxxxxxxxxBxBv', Dother01: 'KEYKEYKEYKEYKEY1' };

/** Devices from a table, answering as DeviceSelfService does, and counting the lookups. */
function directory() {
  const calls: string[] = [];
  const pending: Array<() => void> = [];
  let held = false;
  const authenticate: Authenticate = async (deviceId, deviceKey) => {
    calls.push(deviceId);
    if (held) await new Promise<void>((resolve) => pending.push(resolve));
    if (deviceId === 'Dbroken1') throw new Error('database unavailable');
    if (!(deviceId in keys)) throw new DomainError('not_found', `no device ${deviceId}`);
    if (keys[deviceId] !== deviceKey) throw new DomainError('unauthenticated', 'wrong or missing device key');
    return { kind: 'device', deviceId, prototypeId: 'P00000000001' } satisfies DeviceActor;
  };
  return {
    calls,
    authenticate,
    hold: () => (held = true),
    release: () => {
      held = false;
      for (const resolve of pending.splice(0)) resolve();
    },
  };
}

const good = { deviceId: 'Dbxxxx9k', deviceKey: 'TPJVxxxxxxxxBxBv' };
const other = { deviceId: 'Dother01', deviceKey: 'KEYKEYKEYKEYKEY1' };

describe('ClientSession.authorize', () => {
  it('binds the client to the first device it proves, and checks later topics against it without a lookup', async () => {
    const { authenticate, calls } = directory();
    const session = new ClientSession('client');
    expect(await session.authorize(good, authenticate)).toMatchObject({ ok: true, device: good });
    expect(await session.authorize(good, authenticate)).toMatchObject({ ok: true });
    expect(await session.authorize({ ...good, deviceKey: 'WRONGWRONGWRONG1' }, authenticate)).toEqual({
      ok: false,
      reason: 'wrong key for device Dbxxxx9k',
    });
    expect(await session.authorize(other, authenticate)).toEqual({
      ok: false,
      reason: 'the client acts for device Dbxxxx9k, not Dother01',
    });
    expect(calls).toEqual(['Dbxxxx9k']);
    expect(session.device).toMatchObject({ ...good, actor: { kind: 'device', deviceId: 'Dbxxxx9k' } });
  });

  it('does not bind on a wrong key or an unknown device', async () => {
    const { authenticate } = directory();
    const session = new ClientSession('client');
    expect(await session.authorize({ ...good, deviceKey: 'nope' }, authenticate)).toEqual({
      ok: false,
      reason: 'wrong key for device Dbxxxx9k',
      credentialsRefused: true,
    });
    expect(await session.authorize({ deviceId: 'Dnone000', deviceKey: 'x' }, authenticate)).toEqual({
      ok: false,
      reason: 'no device Dnone000',
      credentialsRefused: true,
    });
    expect(session.device).toBeUndefined();
    expect(await session.authorize(other, authenticate)).toMatchObject({ ok: true });
  });

  it('lets concurrent checks wait for the first one: one lookup, one bound device', async () => {
    const { authenticate, calls, hold, release } = directory();
    const session = new ClientSession('client');
    hold();
    const results = [
      session.authorize(good, authenticate),
      session.authorize(other, authenticate),
      session.authorize(good, authenticate),
    ];
    release();
    expect(await Promise.all(results)).toEqual([
      expect.objectContaining({ ok: true }),
      { ok: false, reason: 'the client acts for device Dbxxxx9k, not Dother01' },
      expect.objectContaining({ ok: true }),
    ]);
    expect(calls).toEqual(['Dbxxxx9k']);
  });

  it('lets a waiting check try its own device when the first one failed', async () => {
    const { authenticate, hold, release } = directory();
    const session = new ClientSession('client');
    hold();
    const first = session.authorize({ ...good, deviceKey: 'wrong' }, authenticate);
    const second = session.authorize(other, authenticate);
    release();
    expect(await first).toMatchObject({ ok: false });
    expect(await second).toMatchObject({ ok: true, device: other });
  });

  it('passes other failures on, unbound', async () => {
    const { authenticate } = directory();
    const session = new ClientSession('client');
    await expect(session.authorize({ deviceId: 'Dbroken1', deviceKey: 'x' }, authenticate)).rejects.toThrow(
      /unavailable/,
    );
    expect(session.device).toBeUndefined();
  });
});

describe('ClientSession message ids and acknowledgements', () => {
  it('hands out ids 1 to 65535 in turn, then wraps to 1', () => {
    const session = new ClientSession('client');
    expect(session.nextMessageId()).toBe(1);
    expect(session.nextMessageId()).toBe(2);
    for (let id = 3; id < 65535; id++) session.nextMessageId();
    expect(session.nextMessageId()).toBe(65535);
    expect(session.nextMessageId()).toBe(1);
  });

  it('matches a PUBACK to the command that left with its id, once, and skips that id while it waits', () => {
    const session = new ClientSession('client');
    const payload = Buffer.from('1513133357160,FOTA,2.0,null,http://x/a.bin');
    let delivered = 0;
    session.expectPuback(payload, () => delivered++);
    session.sent(Buffer.from('other'), session.nextMessageId());
    const id = session.nextMessageId();
    session.sent(payload, id);

    expect(session.acknowledged(1)).toBeUndefined();
    const handedOut = new Set<number>();
    for (let n = 0; n < 65534; n++) handedOut.add(session.nextMessageId());
    expect(handedOut.size).toBe(65534);
    expect(handedOut.has(id)).toBe(false);
    session.acknowledged(id)?.();
    expect(delivered).toBe(1);
    expect(session.acknowledged(id)).toBeUndefined();
  });

  it('forgets a command that was never sent', () => {
    const session = new ClientSession('client');
    const payload = Buffer.from('x');
    session.expectPuback(payload, () => {
      throw new Error('not sent');
    });
    session.forget(payload);
    session.sent(payload, 7);
    expect(session.acknowledged(7)).toBeUndefined();
  });
});

describe('ClientSession filters', () => {
  it('gives the best QoS among granted filters that match, and says when none is left', () => {
    const session = new ClientSession('client');
    const prefix = 'mcs/Dbxxxx9k/TPJVxxxxxxxxBxBv';
    expect(session.grantedQos(`${prefix}/FOTA`)).toBeUndefined();
    session.granted(`${prefix}/led`, 1);
    expect(session.grantedQos(`${prefix}/FOTA`)).toBeUndefined();
    session.granted(`${prefix}/+`, 0);
    expect(session.grantedQos(`${prefix}/FOTA`)).toBe(0);
    session.granted(`${prefix}/#`, 1);
    expect(session.grantedQos(`${prefix}/FOTA`)).toBe(1);
    expect(session.revoked([`${prefix}/#`, `${prefix}/+`])).toBe(false);
    expect(session.subscribed).toBe(true);
    expect(session.revoked([`${prefix}/led`])).toBe(true);
    expect(session.subscribed).toBe(false);
  });
});

describe('the filters a client may hold', () => {
  it('admits new filters up to the limit, one it holds again, and one more once another is revoked', () => {
    const session = new ClientSession('c');
    expect(session.admit('mcs/D/K/a', 2)).toBe(true);
    expect(session.admit('mcs/D/K/b', 2)).toBe(true);
    expect(session.admit('mcs/D/K/c', 2)).toBe(false);
    expect(session.admit('mcs/D/K/a', 2)).toBe(true);
    session.revoked(['mcs/D/K/b']);
    expect(session.admit('mcs/D/K/c', 2)).toBe(true);
    expect(session.admit('mcs/D/K/d', 2)).toBe(false);
  });
});
