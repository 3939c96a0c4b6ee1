import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../domain/errors.js';
import { parseDataPointsCsv, parseDataPointsJson } from './datapoints.js';

describe('datapoints.csv bodies', () => {
  it.each([
    ['status,,fotaing', [{ channelId: 'status', timestamp: undefined, values: { value: 'fotaing' } }]],
    ['temp,1432538716989,26', [{ channelId: 'temp', timestamp: 1432538716989, values: { value: '26' } }]],
    [
      'temp,,26\r\nhum,,40\r\n',
      [
        { channelId: 'temp', timestamp: undefined, values: { value: '26' } },
        { channelId: 'hum', timestamp: undefined, values: { value: '40' } },
      ],
    ],
    [
      'gps,,25.03,121.56,10',
      [{ channelId: 'gps', timestamp: undefined, values: { latitude: '25.03', longitude: '121.56', altitude: '10' } }],
    ],
    ['temp,,26\u0000\u0000', [{ channelId: 'temp', timestamp: undefined, values: { value: '26' } }]],
    ['\n\ntemp,,26\n\n', [{ channelId: 'temp', timestamp: undefined, values: { value: '26' } }]],
    ['temp,,', [{ channelId: 'temp', timestamp: undefined, values: { value: '' } }]],
    ['', []],
  ])('reads %j', (body, expected) => {
    expect(parseDataPointsCsv(body)).toEqual(expected);
  });

  it.each(['temp', 'temp,', 'temp,,1,2', 'temp,,1,2,3,4', 'temp,abc,1', 'temp,-1,1', 'temp,12345678901234567,1'])(
    'refuses %j as invalid input',
    (body) => {
      let error: unknown;
      try {
        parseDataPointsCsv(body);
      } catch (caught) {
        error = caught;
      }
      expect(isDomainError(error, 'invalid_input')).toBe(true);
    },
  );
});

describe('datapoints JSON bodies', () => {
  it('reads values as text and keeps timestamps', () => {
    expect(
      parseDataPointsJson(
        '{"datapoints":[{"dataChnId":"1","timestamp":1432538716989,"values":{"value":26}},{"dataChnId":2,"values":{"value":true}}]}',
      ),
    ).toEqual([
      { channelId: '1', timestamp: 1432538716989, values: { value: '26' } },
      { channelId: '2', timestamp: undefined, values: { value: 'true' } },
    ]);
  });

  it.each([
    'not json',
    '{}',
    '{"datapoints":{}}',
    '{"datapoints":[{"values":{"value":"1"}}]}',
    '{"datapoints":[{"dataChnId":"1"}]}',
    '{"datapoints":[{"dataChnId":"1","values":[1]}]}',
    '{"datapoints":[{"dataChnId":"1","values":{"value":{"nested":1}}}]}',
    '{"datapoints":[{"dataChnId":"1","timestamp":"yesterday","values":{"value":"1"}}]}',
    '{"datapoints":[{"dataChnId":"1","timestamp":-5,"values":{"value":"1"}}]}',
  ])('refuses %s as invalid input', (body) => {
    let error: unknown;
    try {
      parseDataPointsJson(body);
    } catch (caught) {
      error = caught;
    }
    expect(isDomainError(error, 'invalid_input')).toBe(true);
  });
});
