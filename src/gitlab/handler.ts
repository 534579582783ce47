import type { HttpHandler } from '../app/app.ts';
import type { GitLabConfig } from '../app/config.ts';
import type { CheckDependencies } from '../app/run-check.ts';

export function gitLabHandlers(_config: GitLabConfig, _deps: CheckDependencies): HttpHandler[] {
  return [];
}
