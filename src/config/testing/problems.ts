import { expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../index.js';

/** The problems `loadConfig` finds in `env` (none: it loads). */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
}

/** A test per row: the variable `name` set to `value`, alone, is refused with one problem that names it. */
export function itRefusesEach(rows: [name: string, value: string, problem: RegExp][]): void {
  it.each(rows)('%s=%j is refused with one problem naming it', (name, value, message) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
    expect(problems[0]).toMatch(message);
  });
}

/** A test per row: the variables `env` are refused with one problem that says why. */
export function itRefusesEachEnv(rows: [env: Record<string, string>, problem: RegExp][]): void {
  it.each(rows)('%j is refused with one problem that says why', (env, problem) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
  });
}
