import { STATUS_CODES } from 'node:http';

/** MCS's `apiVersion` field; devices do not read it, but it is part of every envelope. */
export const MCS_API_VERSION = '2.0.0';

/** `{"apiVersion","code":200,"message":"Request has succeeded", …fields}` */
export function mcsSuccess(fields: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: MCS_API_VERSION, code: 200, message: 'Request has succeeded', ...fields };
}

/**
 * `{"apiVersion","code":404,"message":"404 Not Found","errors":[{"code":404,"message":"404 Not Found"}],"statusCode":404,"options":{}}`;
 * a 401 adds `"results":"you dont have permission!"`, as MCS did.
 */
export function mcsError(status: number): Record<string, unknown> {
  const message = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return {
    apiVersion: MCS_API_VERSION,
    code: status,
    message,
    errors: [{ code: status, message }],
    statusCode: status,
    options: {},
    ...(status === 401 ? { results: 'you dont have permission!' } : {}),
  };
}
