/** Why dist/ under `root` needs a build, or null when it is current (scripts/build-state.js). */
export function buildStaleness(root: string): string | null;
export const SOURCES: string[];
export const BUILT: string[];
