/** WebSocket close code for a subscriber that cannot keep up (its event queue or send buffer overflowed). */
export const CLOSE_SLOW_CONSUMER = 4008;

/** WebSocket close code for a connection_init from a client address that has failed to authenticate too often. */
export const CLOSE_TOO_MANY_FAILED_LOGINS = 4429;

/** WebSocket close code for a connection_init of a credential that already has its limit of open connections. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
