export const CONSOLE_DIR: string;
export const CONSOLE_DIST: string;
export function consoleStale(): boolean;
export function buildConsole(opts?: { quiet?: boolean }): Promise<boolean>;
export function ensureConsole(opts?: { quiet?: boolean }): Promise<void>;
