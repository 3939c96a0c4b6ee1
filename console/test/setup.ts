// jsdom lacks what Mantine measures with: stubs of matchMedia, ResizeObserver and document.fonts
// (a growing Textarea listens to it), nothing else.
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

Object.defineProperty(window, 'matchMedia', {
  writable: true,
  value: (query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  }),
});

class NoResizeObserver {
  observe(): void {}
  unobserve(): void {}
  disconnect(): void {}
}
window.ResizeObserver = NoResizeObserver;
Object.defineProperty(document, 'fonts', {
  value: { addEventListener: () => undefined, removeEventListener: () => undefined },
});
window.HTMLElement.prototype.scrollIntoView = () => undefined;

// The tests read a real server on a shared machine: a list may take seconds to arrive under load.
configure({ asyncUtilTimeout: 10_000 });

afterEach(() => cleanup());
