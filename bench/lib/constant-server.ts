import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The bare node:http peer, run as its own process: answers every request with the same bytes (JSON
 * unless a content type is given). Usage: constant-server.ts PORT BODY_FILE [CONTENT_TYPE]. Exits
 * on SIGTERM or SIGINT.
 */
const [portText, bodyFile, contentType = 'application/json; charset=utf-8'] = process.argv.slice(2);
if (portText === undefined || bodyFile === undefined) {
  process.stderr.write('usage: constant-server.ts PORT BODY_FILE [CONTENT_TYPE]\n');
  process.exit(2);
}
const body = readFileSync(bodyFile);
const headers = { 'content-type': contentType, 'content-length': String(body.length) };

const server = createServer((request, response) => {
  request.resume();
  response.writeHead(200, headers);
  response.end(body);
});
server.keepAliveTimeout = 72_000;
server.listen(Number(portText), '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
