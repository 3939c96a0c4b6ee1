import { describe, expect, it } from 'vitest';
import { configVariables, editDistance, unknownVariables } from './index.js';

describe('unknown FOTA_* variables', () => {
  it.each<[string, string, number]>([
    ['FOTA_HTTP_PORT', 'FOTA_HTTP_PORT', 0],
    ['FOTA_HTTP_PROT', 'FOTA_HTTP_PORT', 2],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
    ['abc', '', 3],
  ])('editDistance(%j, %j) is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it.each<[string, string | undefined]>([
    ['FOTA_HTTP_PROT', 'FOTA_HTTP_PORT'],
    ['FOTA_TCP_PROT', 'FOTA_TCP_PORT'],
    ['FOTA_DATADIR', 'FOTA_DATA_DIR'],
    ['FOTA_MAX_DEVICE_CONNECTION', 'FOTA_MAX_DEVICE_CONNECTIONS'],
    ['FOTA_LOGLEVEL', 'FOTA_LOG_LEVEL'],
    ['FOTA_TOKN', 'FOTA_TOKEN'],
    ['FOTA_SOMETHING_ELSE_ENTIRELY', undefined],
  ])('%s is reported, with %s as the closest known name', (name, closest) => {
    expect(unknownVariables({ [name]: '1' })).toEqual([{ name, closest }]);
  });

  it('knows every server setting and the client variables, and ignores other names', () => {
    const known = Object.fromEntries(configVariables.map(([name]) => [name, 'x']));
    expect(
      unknownVariables({ ...known, FOTA_URL: 'x', FOTA_TOKEN: 'x', FOTA_MQTT_URL: 'x', PATH: '/bin', fota_x: '1' }),
    ).toEqual([]);
  });
});
