export * from './twin.ts';
export * from './auth.ts';
export * from './telemetry.ts';
export * from './alerts.ts';
export * from './datasets.ts';
