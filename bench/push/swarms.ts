import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../lib/fota-server.js';
import { treeCpuSeconds } from '../lib/proc.js';
import { progress } from '../lib/report.js';
import type { BenchChild, Resources } from '../lib/resources.js';
import type { Command, SwarmEvent, SwarmMessage } from './protocol.js';

/** Distributive Omit, so each command keeps its own fields. */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type SwarmCommand = WithoutSeq<Command>;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/** One swarm process, seen from the bench process. */
class SwarmHandle {
  private socket: Socket | undefined;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private onEvent: ((index: number, event: SwarmEvent) => void) | undefined;

  constructor(
    readonly index: number,
    readonly child: BenchChild,
  ) {}

  attach(socket: Socket, onEvent: (index: number, event: SwarmEvent) => void): void {
    this.socket = socket;
    this.onEvent = onEvent;
    socket.once('close', () => this.failAll(`swarm ${this.index} closed its control socket`));
  }

  receive(line: string): void {
    const message = JSON.parse(line) as SwarmMessage;
    if ('event' in message) {
      this.onEvent?.(this.index, message);
      return;
    }
    const pending = this.pending.get(message.seq);
    if (!pending) return;
    this.pending.delete(message.seq);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new Error(`swarm ${this.index}: ${message.error}`));
  }

  request<T>(command: SwarmCommand, timeoutMs: number): Promise<T> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error(`swarm ${this.index} is not connected`));
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`swarm ${this.index} did not answer ${command.cmd} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      socket.write(`${JSON.stringify({ ...command, seq })}\n`);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private failAll(reason: string): void {
    const tail = this.child.tail();
    for (const pending of this.pending.values()) {
      pending.reject(new Error(tail === '' ? reason : `${reason}; its last output:\n${tail}`));
    }
    this.pending.clear();
  }
}

/**
 * The swarm processes (bench/push/swarm.ts run through tsx), each connected back to the bench over a
 * loopback control socket. They stop when that socket closes, so they never outlive the bench, and
 * `resources` stops them on cleanup too.
 */
export class Swarms {
  private readonly listeners = new Set<(index: number, event: SwarmEvent) => void>();

  private constructor(
    private readonly server: Server,
    readonly handles: readonly SwarmHandle[],
  ) {}

  static async start(resources: Resources, count: number): Promise<Swarms> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const handles = Array.from(
      { length: count },
      (_, index) =>
        new SwarmHandle(
          index,
          resources.spawn(
            `swarm ${index}`,
            process.execPath,
            ['--import', 'tsx', join(repoRoot, 'bench/push/swarm.ts'), String(port), String(index)],
            { cwd: repoRoot },
          ),
        ),
    );
    const swarms = new Swarms(server, handles);
    const waiting = new Set(handles.map((handle) => handle.index));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`swarms ${[...waiting].join(', ')} did not connect back within 30 s`)),
        30_000,
      );
      server.on('connection', (socket) => {
        socket.setNoDelay(true);
        let handle: SwarmHandle | undefined;
        // The first line of each swarm is its hello with its index; the rest are its messages.
        createInterface({ input: socket }).on('line', (line) => {
          if (handle) {
            handle.receive(line);
            return;
          }
          const hello = JSON.parse(line) as SwarmEvent;
          handle = hello.event === 'hello' ? handles[hello.index] : undefined;
          if (!handle) {
            socket.destroy();
            return;
          }
          handle.attach(socket, (index, event) => {
            for (const listener of swarms.listeners) listener(index, event);
          });
          waiting.delete(handle.index);
          if (waiting.size === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      for (const handle of handles) {
        void handle.child.exited.then(() => {
          if (waiting.has(handle.index)) {
            clearTimeout(timer);
            reject(new Error(`swarm ${handle.index} exited before connecting back:\n${handle.child.tail()}`));
          }
        });
      }
    });
    swarms.on((index, event) => {
      if (event.event === 'progress') progress(`swarm ${index}: ${event.done} ${event.what}`);
    });
    return swarms;
  }

  get count(): number {
    return this.handles.length;
  }

  get pids(): number[] {
    return this.handles.map((handle) => handle.child.pid);
  }

  on(listener: (index: number, event: SwarmEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Sends one command to every swarm (`make(index)` builds each) and waits for all answers. */
  all<T>(make: (index: number) => SwarmCommand, timeoutMs: number): Promise<T[]> {
    return Promise.all(this.handles.map((handle) => handle.request<T>(make(handle.index), timeoutMs)));
  }

  /** User plus system CPU seconds of all swarm processes so far. */
  cpuSeconds(): number {
    return this.pids.reduce((sum, pid) => sum + treeCpuSeconds(pid), 0);
  }

  /** Closes the control sockets (the swarms exit) and the control server. */
  async close(): Promise<void> {
    for (const handle of this.handles) handle.close();
    await Promise.all(this.handles.map((handle) => handle.child.stop(5000)));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
