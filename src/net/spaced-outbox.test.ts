import { describe, expect, it } from 'vitest';
import { SpacedOutbox, type Spaced } from './spaced-outbox.js';

interface Message extends Spaced {
  readonly text: string;
}

function recorder(gapMs: number) {
  const writes: { text: string; at: number }[] = [];
  let ended = false;
  const outbox = new SpacedOutbox<Message>(
    gapMs,
    (message, done) => {
      writes.push({ text: message.text, at: performance.now() });
      done(undefined);
    },
    () => ended,
  );
  return { outbox, writes, end: () => (ended = true) };
}

const settled = (message: { written?: unknown }) =>
  new Promise<Error | undefined>((resolve) => ((message as { written: unknown }).written = resolve));

describe('SpacedOutbox', () => {
  it('writes the first message at once and each next one no sooner than the gap after the last', async () => {
    const { outbox, writes } = recorder(50);
    const messages: Message[] = ['a', 'b', 'c'].map((text) => ({ text }));
    const done = messages.map(settled);
    outbox.queue.push(...messages);
    outbox.flush();
    expect(writes.map((write) => write.text)).toEqual(['a']);
    expect(await Promise.all(done)).toEqual([undefined, undefined, undefined]);
    expect(writes.map((write) => write.text)).toEqual(['a', 'b', 'c']);
    for (let i = 1; i < writes.length; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(49);
  });

  it('fails what still waits when the session ends or the outbox is dropped, and writes none of it', async () => {
    const { outbox, writes, end } = recorder(10_000);
    const first: Message = { text: 'first' };
    const second: Message = { text: 'second' };
    const third: Message = { text: 'third' };
    const [, waiting, dropped] = [first, second, third].map(settled);
    outbox.queue.push(first, second);
    outbox.flush();
    outbox.drop();
    expect((await waiting)?.message).toBe('the connection closed');
    outbox.queue.push(third);
    end();
    outbox.flush();
    expect((await dropped)?.message).toBe('the connection closed');
    expect(writes.map((write) => write.text)).toEqual(['first']);
  });
});
