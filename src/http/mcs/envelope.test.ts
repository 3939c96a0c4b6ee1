import { describe, expect, it } from 'vitest';
import { MCS_API_VERSION, mcsError, mcsSuccess } from './envelope.js';

describe('mcsError', () => {
  it.each<[number, string]>([
    [
      404,
      '{"apiVersion":"2.0.0","code":404,"message":"404 Not Found","errors":[{"code":404,"message":"404 Not Found"}],"statusCode":404,"options":{}}',
    ],
    [
      401,
      '{"apiVersion":"2.0.0","code":401,"message":"401 Unauthorized","errors":[{"code":401,"message":"401 Unauthorized"}],"statusCode":401,"options":{},"results":"you dont have permission!"}',
    ],
    [
      400,
      '{"apiVersion":"2.0.0","code":400,"message":"400 Bad Request","errors":[{"code":400,"message":"400 Bad Request"}],"statusCode":400,"options":{}}',
    ],
    [
      500,
      '{"apiVersion":"2.0.0","code":500,"message":"500 Internal Server Error","errors":[{"code":500,"message":"500 Internal Server Error"}],"statusCode":500,"options":{}}',
    ],
    [
      599,
      '{"apiVersion":"2.0.0","code":599,"message":"599 Error","errors":[{"code":599,"message":"599 Error"}],"statusCode":599,"options":{}}',
    ],
  ])('%i serialises to exactly the MCS bytes', (status, json) => {
    expect(JSON.stringify(mcsError(status))).toBe(json);
  });
});

describe('mcsSuccess', () => {
  it.each<[Record<string, unknown>, string]>([
    [{}, '{"apiVersion":"2.0.0","code":200,"message":"Request has succeeded"}'],
    [
      { fwId: 'FAa6B540CMmJ' },
      '{"apiVersion":"2.0.0","code":200,"message":"Request has succeeded","fwId":"FAa6B540CMmJ"}',
    ],
    [
      { ip: '1.2.3.4', port: 443 },
      '{"apiVersion":"2.0.0","code":200,"message":"Request has succeeded","ip":"1.2.3.4","port":443}',
    ],
  ])('%j serialises with the envelope first', (fields, json) => {
    expect(JSON.stringify(mcsSuccess(fields))).toBe(json);
  });

  it('uses the MCS API version', () => {
    expect(MCS_API_VERSION).toBe('2.0.0');
  });
});
