export * from './twin.ts';
export * from './auth.ts';
