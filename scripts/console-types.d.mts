export const TYPES_FILE: string;
export function consoleTypes(sdl: string): string;
export function writeConsoleTypes(): void;
