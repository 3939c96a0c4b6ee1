import { expect } from 'vitest';

export interface OpenStream {
  /** 'ended' with what was received, or 'open' when the stream still runs after `ms`. */
  within(ms: number): Promise<{ state: 'ended' | 'open'; text: string }>;
  close(): void;
}

/** Opens `GET /api/v1/events` of the server at `url` with a cookie or a bearer token. */
export async function openStream(url: string, auth: { cookie?: string; token?: string }): Promise<OpenStream> {
  const headers: Record<string, string> = {};
  if (auth.cookie !== undefined) headers['cookie'] = auth.cookie;
  if (auth.token !== undefined) headers['authorization'] = `Bearer ${auth.token}`;
  const controller = new AbortController();
  const response = await fetch(`${url}/api/v1/events`, { headers, signal: controller.signal });
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  const ended = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += value;
    }
  })();
  ended.catch(() => undefined);
  return {
    async within(ms) {
      let timer: NodeJS.Timeout | undefined;
      const open = new Promise<'open'>((resolve) => (timer = setTimeout(() => resolve('open'), ms)));
      const state = await Promise.race([ended.then(() => 'ended' as const), open]);
      clearTimeout(timer);
      return { state, text };
    },
    close: () => controller.abort(),
  };
}
