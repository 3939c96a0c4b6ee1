/**
 * Run as `node --import tsx test/support/commit-one-blob.ts <root>`: opens a blob store in a new
 * folder and commits one blob, so a test can watch the system calls of exactly that.
 */
import { Readable } from 'node:stream';
import { LocalBlobStore } from '../../src/storage/local-blob-store.js';

const store = new LocalBlobStore(process.argv[2]!);
await store.open();
const staged = await store.stage(Readable.from([Buffer.from('firmware bytes')]), { maxBytes: 1024 });
await store.commit(staged);
process.stdout.write(staged.sha256);
